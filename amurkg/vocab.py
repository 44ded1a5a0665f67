"""The amurkg ontology as a typo-proof rdflib namespace: ``AKG.Taxon`` works, ``AKG.Taxn`` raises.

Importing this module imports rdflib; code on the fast query path uses ``amurkg.namespaces`` instead.
A test keeps this list equal to the terms declared in ``ontology/amurkg.ttl`` and ``ontology/survey.ttl``.
"""

from __future__ import annotations

from rdflib import URIRef
from rdflib.namespace import DefinedNamespace, Namespace

from amurkg.namespaces import AKG as _AKG
from amurkg.namespaces import AMUR as _AMUR


class AKG(DefinedNamespace):
    """Classes and properties of the amurkg ontology."""

    _NS = Namespace(_AKG)
    _fail = True

    # classes
    Abundance: URIRef
    Adaptation: URIRef
    AdministrativeDivision: URIRef
    AssertedTriple: URIRef
    BigCat: URIRef
    BorderRegion: URIRef
    CameraTrapObservation: URIRef
    CameraTrapPackage: URIRef
    CausalFactor: URIRef
    City: URIRef
    Climate: URIRef
    ClimateFeature: URIRef
    ConiferTaxon: URIRef
    Consequence: URIRef
    ConservationAction: URIRef
    ConservationAim: URIRef
    ConservationStatusAssessment: URIRef
    Country: URIRef
    DataFile: URIRef
    Deployment: URIRef
    DispersalMovement: URIRef
    EcologicalFunction: URIRef
    Entailment: URIRef
    Extent: URIRef
    ForestType: URIRef
    Frequency: URIRef
    HabitatFeature: URIRef
    HistoricalDriver: URIRef
    HumanActivity: URIRef
    InternationalBorder: URIRef
    IucnHabitatClass: URIRef
    IucnStressClass: URIRef
    IucnThreatClass: URIRef
    LifeStage: URIRef
    Mammal: URIRef
    Media: URIRef
    MovementStatus: URIRef
    NationalPark: URIRef
    Organization: URIRef
    Outcome: URIRef
    Pathogen: URIRef
    Peninsula: URIRef
    Period: URIRef
    Place: URIRef
    PopulationEstimate: URIRef
    PopulationShare: URIRef
    PresenceStatus: URIRef
    Pressure: URIRef
    PreyTaxon: URIRef
    ProtectedArea: URIRef
    RangeContraction: URIRef
    RangeOccurrence: URIRef
    RangeRole: URIRef
    RedListCategory: URIRef
    Region: URIRef
    Season: URIRef
    SizeClass: URIRef
    SourceDocument: URIRef
    SurveyProject: URIRef
    TableRow: URIRef
    Taxon: URIRef
    TerrainType: URIRef
    TextSpan: URIRef
    Threat: URIRef
    Trait: URIRef
    TreeGroup: URIRef
    TreeTaxon: URIRef
    Ungulate: URIRef

    # properties
    abundance: URIRef
    abundantIn: URIRef
    acronym: URIRef
    actionLocation: URIRef
    actsOn: URIRef
    adaptationKind: URIRef
    adaptationOf: URIRef
    adaptedTo: URIRef
    adjacentTo: URIRef
    affectedTaxon: URIRef
    aimOrder: URIRef
    aimOutcome: URIRef
    aimTarget: URIRef
    areaSquareKilometres: URIRef
    assessedBy: URIRef
    assessedTaxon: URIRef
    baitUse: URIRef
    bboxHeight: URIRef
    bboxWidth: URIRef
    bboxX: URIRef
    bboxY: URIRef
    beganIn: URIRef
    byRule: URIRef
    byteSize: URIRef
    cameraDays: URIRef
    cameraDelay: URIRef
    cameraDepth: URIRef
    cameraHeading: URIRef
    cameraHeight: URIRef
    cameraID: URIRef
    cameraModel: URIRef
    cameraSetupType: URIRef
    cameraTilt: URIRef
    captureMethod: URIRef
    causedBy: URIRef
    characterCount: URIRef
    classificationMethod: URIRef
    classificationProbability: URIRef
    climateOf: URIRef
    contributorRole: URIRef
    copesWith: URIRef
    countedLifeStage: URIRef
    counters: URIRef
    coversPlace: URIRef
    crosses: URIRef
    demands: URIRef
    dependsOn: URIRef
    deployment: URIRef
    deploymentEnd: URIRef
    deploymentGroups: URIRef
    deploymentID: URIRef
    deploymentStart: URIRef
    deploymentTags: URIRef
    detectionDistance: URIRef
    distinction: URIRef
    drivenBy: URIRef
    duringPeriod: URIRef
    establishedOn: URIRef
    estimatedTaxon: URIRef
    eventEnd: URIRef
    eventStart: URIRef
    exifData: URIRef
    extent: URIRef
    favorite: URIRef
    featureType: URIRef
    fileName: URIRef
    filePath: URIRef
    filePublic: URIRef
    foundIn: URIRef
    frequency: URIRef
    fromPlace: URIRef
    fromPremise: URIRef
    fromRange: URIRef
    hasAim: URIRef
    hasClimateFeature: URIRef
    hasDriver: URIRef
    hasTreeComponent: URIRef
    helpsAvoid: URIRef
    importGraph: URIRef
    importKind: URIRef
    importedAt: URIRef
    importedFrom: URIRef
    inPlace: URIRef
    individualAnimals: URIRef
    individualPositionAngle: URIRef
    individualPositionRadius: URIRef
    individualSpeed: URIRef
    inverseLabel: URIRef
    iso3166Alpha3: URIRef
    iso3166Code: URIRef
    iso3166Numeric: URIRef
    iucnHabitat: URIRef
    iucnProtectedAreaCategory: URIRef
    iucnStress: URIRef
    iucnThreat: URIRef
    leadsTo: URIRef
    leopardConservationFocus: URIRef
    licenseScope: URIRef
    localHour: URIRef
    mainlyIn: URIRef
    maximumCount: URIRef
    media: URIRef
    mediaID: URIRef
    minutesSincePrevious: URIRef
    minimumCount: URIRef
    monitoringLevel: URIRef
    movementStatus: URIRef
    movingTaxon: URIRef
    near: URIRef
    numberOfCountries: URIRef
    observationCount: URIRef
    observationLevel: URIRef
    observationTags: URIRef
    observationType: URIRef
    occurringTaxon: URIRef
    occursOn: URIRef
    packageIdentifier: URIRef
    packageName: URIRef
    parentTaxon: URIRef
    persistence: URIRef
    populationScope: URIRef
    populationShare: URIRef
    presenceStatus: URIRef
    prevents: URIRef
    project: URIRef
    protectedWithin: URIRef
    providesFunction: URIRef
    rangeDescription: URIRef
    rangeRole: URIRef
    rangeWithin: URIRef
    recededInto: URIRef
    redListCategory: URIRef
    riskLevel: URIRef
    rowNumber: URIRef
    samplingDesign: URIRef
    season: URIRef
    separates: URIRef
    setupBy: URIRef
    sha256: URIRef
    sharedBy: URIRef
    sizeClass: URIRef
    socialBehaviour: URIRef
    southernLimit: URIRef
    statesObject: URIRef
    statesPredicate: URIRef
    statesSubject: URIRef
    supports: URIRef
    sustains: URIRef
    tableName: URIRef
    temporalEnd: URIRef
    temporalStart: URIRef
    terrain: URIRef
    timestamp: URIRef
    timestampIssues: URIRef
    toPlace: URIRef
    toRange: URIRef
    tripleCount: URIRef
    usesHabitat: URIRef


#: Namespace of the graph's individuals (not closed: users add their own).
AMUR = Namespace(_AMUR)
