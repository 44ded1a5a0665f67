// The OWL API's own OWL 2 DL profile check, run on RDF files (amurkg's test suite compiles and runs it;
// the OWL API jars are the ones owlready2 ships with Pellet). Usage: java ProfileCheck FILE...
// Prints each profile violation and each RDF triple the OWL API could not read as OWL, one per line,
// then a summary line per file; exits 1 when any file has either, 2 when a file cannot be loaded.
import java.io.File;

import org.semanticweb.owlapi.apibinding.OWLManager;
import org.semanticweb.owlapi.io.FileDocumentSource;
import org.semanticweb.owlapi.io.OWLOntologyLoaderMetaData;
import org.semanticweb.owlapi.io.RDFOntologyFormat;
import org.semanticweb.owlapi.io.RDFParserMetaData;
import org.semanticweb.owlapi.io.RDFLiteral;
import org.semanticweb.owlapi.io.RDFResource;
import org.semanticweb.owlapi.io.RDFTriple;
import org.semanticweb.owlapi.model.IRI;
import org.semanticweb.owlapi.model.OWLAnnotation;
import org.semanticweb.owlapi.model.OWLAnnotationAssertionAxiom;
import org.semanticweb.owlapi.model.OWLAnnotationValue;
import org.semanticweb.owlapi.model.OWLOntology;
import org.semanticweb.owlapi.model.OWLOntologyFormat;
import org.semanticweb.owlapi.model.OWLOntologyLoaderConfiguration;
import org.semanticweb.owlapi.model.OWLOntologyManager;
import org.semanticweb.owlapi.profiles.OWL2DLProfile;
import org.semanticweb.owlapi.profiles.OWLProfileReport;
import org.semanticweb.owlapi.profiles.OWLProfileViolation;

public final class ProfileCheck {
    private ProfileCheck() {}

    /** The RDF/XML parser of OWL API 3 lists an annotation triple met before its property's declaration among
     * the unparsed ones even though it then reads it as an axiom; such a triple is not lost, so not counted. */
    private static boolean readAsAnnotation(OWLOntology ontology, RDFTriple triple) {
        IRI property = triple.getPredicate().getResource();
        if (triple.getSubject().isAnonymous() || !ontology.containsAnnotationPropertyInSignature(property)) {
            return false;
        }
        OWLAnnotationValue value = triple.getObject().isLiteral()
                ? ((RDFLiteral) triple.getObject()).getLiteral()
                : ((RDFResource) triple.getObject()).getResource();
        if (ontology.getOntologyID().getOntologyIRI() != null
                && ontology.getOntologyID().getOntologyIRI().equals(triple.getSubject().getResource())) {
            for (OWLAnnotation annotation : ontology.getAnnotations()) {  // an annotation of the ontology itself
                if (annotation.getProperty().getIRI().equals(property) && annotation.getValue().equals(value)) {
                    return true;
                }
            }
        }
        for (OWLAnnotationAssertionAxiom axiom
                : ontology.getAnnotationAssertionAxioms(triple.getSubject().getResource())) {
            if (axiom.getProperty().getIRI().equals(property) && axiom.getValue().equals(value)) {
                return true;
            }
        }
        return false;
    }

    public static void main(String[] args) {
        int status = 0;
        for (String name : args) {
            OWLOntologyManager manager = OWLManager.createOWLOntologyManager();
            OWLOntology ontology;
            try {
                ontology = manager.loadOntologyFromOntologyDocument(
                        new FileDocumentSource(new File(name)), new OWLOntologyLoaderConfiguration());
            } catch (Exception e) {
                System.out.println(name + ": cannot load: " + e.getMessage().split("\n")[0]);
                System.exit(2);
                return;
            }
            OWLProfileReport report = new OWL2DLProfile().checkOntology(ontology);
            for (OWLProfileViolation violation : report.getViolations()) {
                System.out.println("violation: " + violation.toString().replace('\n', ' '));
            }
            int unparsed = 0;
            OWLOntologyFormat format = manager.getOntologyFormat(ontology);
            if (format instanceof RDFOntologyFormat) {
                OWLOntologyLoaderMetaData meta = ((RDFOntologyFormat) format).getOntologyLoaderMetaData();
                if (meta instanceof RDFParserMetaData) {
                    for (RDFTriple triple : ((RDFParserMetaData) meta).getUnparsedTriples()) {
                        if (!readAsAnnotation(ontology, triple)) {
                            System.out.println("unparsed: " + triple);
                            unparsed++;
                        }
                    }
                }
            }
            int violations = report.getViolations().size();
            System.out.println(name + ": " + ontology.getAxiomCount() + " axioms, " + violations
                    + " OWL 2 DL violations, " + unparsed + " unparsed triples");
            if (violations > 0 || unparsed > 0) {
                status = 1;
            }
        }
        System.exit(status);
    }
}
