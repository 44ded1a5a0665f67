"""The amurkg ontology as a typo-proof rdflib namespace: ``AKG.Taxon`` works, ``AKG.Taxn`` raises.

Importing this module imports rdflib; code on the fast query path uses ``amurkg.namespaces`` instead.
A test keeps this list equal to the terms declared in ``ontology/amurkg.ttl``.
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
    AssertedTriple: URIRef
    AdministrativeDivision: URIRef
    BigCat: URIRef
    BorderRegion: URIRef
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
    DispersalMovement: URIRef
    Entailment: URIRef
    EcologicalFunction: URIRef
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
    beganIn: URIRef
    byRule: URIRef
    byteSize: URIRef
    causedBy: URIRef
    characterCount: URIRef
    climateOf: URIRef
    copesWith: URIRef
    countedLifeStage: URIRef
    counters: URIRef
    coversPlace: URIRef
    crosses: URIRef
    demands: URIRef
    dependsOn: URIRef
    distinction: URIRef
    drivenBy: URIRef
    duringPeriod: URIRef
    establishedOn: URIRef
    estimatedTaxon: URIRef
    extent: URIRef
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
    inPlace: URIRef
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
    mainlyIn: URIRef
    maximumCount: URIRef
    minimumCount: URIRef
    monitoringLevel: URIRef
    movementStatus: URIRef
    movingTaxon: URIRef
    near: URIRef
    numberOfCountries: URIRef
    occurringTaxon: URIRef
    occursOn: URIRef
    parentTaxon: URIRef
    persistence: URIRef
    populationScope: URIRef
    populationShare: URIRef
    presenceStatus: URIRef
    prevents: URIRef
    protectedWithin: URIRef
    providesFunction: URIRef
    rangeDescription: URIRef
    rangeRole: URIRef
    rangeWithin: URIRef
    recededInto: URIRef
    redListCategory: URIRef
    riskLevel: URIRef
    season: URIRef
    separates: URIRef
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
    terrain: URIRef
    toPlace: URIRef
    toRange: URIRef
    usesHabitat: URIRef


#: Namespace of the graph's individuals (not closed: users add their own).
AMUR = Namespace(_AMUR)
