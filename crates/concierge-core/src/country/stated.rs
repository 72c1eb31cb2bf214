//! "Stated" signal: the sender says where they are ("I live in Toronto",
//! "moro em Lisboa", "東京在住", a `Country: Brazil` line, a "City, Country"
//! signature line). A place only counts after a locative cue.

use std::collections::HashMap;
use std::sync::LazyLock;

use super::CountryCode;
use super::evidence::{EvidenceKind, Finding, clip};
use super::places::{self, Kind, Place, flag};
use super::text::{self, Sep, Token};

const RESIDENCE: EvidenceKind = EvidenceKind::Residence;
const LABEL: EvidenceKind = EvidenceKind::Label;
const PRESENT: EvidenceKind = EvidenceKind::Present;
const MOVED: EvidenceKind = EvidenceKind::MovedTo;
const BASED: EvidenceKind = EvidenceKind::Based;
const GREETING: EvidenceKind = EvidenceKind::Greeting;
const SIGNATURE: EvidenceKind = EvidenceKind::Signature;
const ORIGIN: EvidenceKind = EvidenceKind::Origin;
const WEAK: EvidenceKind = EvidenceKind::Mention;
const LEFT: EvidenceKind = EvidenceKind::Left;
const TOUR: EvidenceKind = EvidenceKind::Tour;

/// Whether a cue is clear enough for a lower-case or common-word place.
fn clear(kind: EvidenceKind) -> bool {
    !matches!(
        kind,
        EvidenceKind::Mention | EvidenceKind::Signature | EvidenceKind::Tour
    )
}

/// Extra checks attached to a cue.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Guard {
    None,
    /// Cue without a first-person subject ("live in", "based in", "vivo em"):
    /// rejected after third-person subjects, modals, "play live in", "ao vivo em".
    Person,
    /// Bare preposition: rejected near travel/past words.
    Weak,
    /// "to", "para", "à" after a verb of moving earlier in the clause
    /// ("moved from Sydney to Toowoomba", "mudei de Recife para Lisboa").
    AfterMove,
}

use Guard::{AfterMove as GM, None as G0, Person as GP, Weak as GW};

/// Cue phrases, folded and space-separated.
const CUES: &[(&str, EvidenceKind, Guard)] = &[
    // The second place of a move ("moved from X to Y", "de X para Y").
    ("to", MOVED, GM),
    ("para", MOVED, GM),
    ("pra", MOVED, GM),
    ("a", MOVED, GM),
    ("nach", MOVED, GM),
    ("naar", MOVED, GM),
    ("till", MOVED, GM),
    // English
    ("live in", RESIDENCE, GP),
    ("living in", RESIDENCE, GP),
    ("reside in", RESIDENCE, GP),
    ("residing in", RESIDENCE, GP),
    ("i m based in", RESIDENCE, G0),
    ("im based in", RESIDENCE, G0),
    ("i am based in", RESIDENCE, G0),
    ("we re based in", RESIDENCE, G0),
    ("we are based in", RESIDENCE, G0),
    ("based in", BASED, GP),
    ("based out of", BASED, GP),
    ("located in", BASED, GP),
    ("i m in", PRESENT, G0),
    ("im in", PRESENT, G0),
    ("i am in", PRESENT, G0),
    ("we re in", PRESENT, G0),
    ("we are in", PRESENT, G0),
    ("here in", PRESENT, GP),
    ("i moved to", MOVED, G0),
    ("we moved to", MOVED, G0),
    ("i ve moved to", MOVED, G0),
    ("i have moved to", MOVED, G0),
    ("we ve moved to", MOVED, G0),
    ("i relocated to", MOVED, G0),
    ("we relocated to", MOVED, G0),
    ("i m from", ORIGIN, G0),
    ("im from", ORIGIN, G0),
    ("i am from", ORIGIN, G0),
    ("we re from", ORIGIN, G0),
    ("we are from", ORIGIN, G0),
    ("i come from", ORIGIN, G0),
    ("greetings from", GREETING, G0),
    ("hello from", GREETING, G0),
    ("hi from", GREETING, G0),
    ("writing from", GREETING, G0),
    ("writing to you from", GREETING, G0),
    ("in", WEAK, GW),
    // Islands: "on Maui, Hawaii", "on Skye".
    ("on", WEAK, GW),
    ("near", WEAK, GW),
    ("pres d", WEAK, GW),
    ("pres de", WEAK, GW),
    // "a band from Japan", "a DJ from Lagos": where they come from.
    ("from", ORIGIN, GW),
    // Portuguese
    ("moro em", RESIDENCE, G0),
    ("moro no", RESIDENCE, G0),
    ("moro na", RESIDENCE, G0),
    ("moro nos", RESIDENCE, G0),
    ("moro nas", RESIDENCE, G0),
    ("moramos em", RESIDENCE, G0),
    ("moramos no", RESIDENCE, G0),
    ("moramos na", RESIDENCE, G0),
    ("moramos nos", RESIDENCE, G0),
    ("vivo em", RESIDENCE, GP),
    ("vivo no", RESIDENCE, GP),
    ("vivo na", RESIDENCE, GP),
    ("vivemos em", RESIDENCE, G0),
    ("vivemos no", RESIDENCE, G0),
    ("vivemos na", RESIDENCE, G0),
    ("resido em", RESIDENCE, G0),
    ("resido no", RESIDENCE, G0),
    ("resido na", RESIDENCE, G0),
    ("estou em", PRESENT, G0),
    ("estou no", PRESENT, G0),
    ("estou na", PRESENT, G0),
    ("estou nos", PRESENT, G0),
    ("estamos em", PRESENT, G0),
    ("estamos no", PRESENT, G0),
    ("estamos na", PRESENT, G0),
    ("aqui em", PRESENT, G0),
    ("aqui no", PRESENT, G0),
    ("aqui na", PRESENT, G0),
    ("me mudei para", MOVED, G0),
    ("me mudei pra", MOVED, G0),
    ("mudei me para", MOVED, G0),
    ("mudei para", MOVED, G0),
    ("sou de", ORIGIN, G0),
    ("sou do", ORIGIN, G0),
    ("sou da", ORIGIN, G0),
    ("somos de", ORIGIN, G0),
    ("baseado em", BASED, GP),
    ("baseada em", BASED, GP),
    ("escrevo de", GREETING, G0),
    ("em", WEAK, GW),
    ("no", WEAK, GW),
    ("na", WEAK, GW),
    // Spanish
    ("vivo en", RESIDENCE, GP),
    ("vivimos en", RESIDENCE, G0),
    ("resido en", RESIDENCE, G0),
    ("radico en", RESIDENCE, G0),
    ("estoy en", PRESENT, G0),
    ("estamos en", PRESENT, G0),
    ("aqui en", PRESENT, G0),
    ("me mude a", MOVED, G0),
    ("nos mudamos a", MOVED, G0),
    ("soy de", ORIGIN, G0),
    ("somos de", ORIGIN, G0),
    ("radicado en", BASED, GP),
    ("radicada en", BASED, GP),
    ("con base en", BASED, GP),
    ("escribo desde", GREETING, G0),
    ("saludos desde", GREETING, G0),
    ("en", WEAK, GW),
    // French
    ("j habite", RESIDENCE, G0),
    ("j habite a", RESIDENCE, G0),
    ("j habite au", RESIDENCE, G0),
    ("j habite en", RESIDENCE, G0),
    ("j habite aux", RESIDENCE, G0),
    ("nous habitons a", RESIDENCE, G0),
    ("nous habitons au", RESIDENCE, G0),
    ("nous habitons en", RESIDENCE, G0),
    ("je vis a", RESIDENCE, G0),
    ("je vis au", RESIDENCE, G0),
    ("je vis en", RESIDENCE, G0),
    ("je vis aux", RESIDENCE, G0),
    ("nous vivons a", RESIDENCE, G0),
    ("nous vivons en", RESIDENCE, G0),
    ("je reside a", RESIDENCE, G0),
    ("je reside en", RESIDENCE, G0),
    ("je suis a", PRESENT, G0),
    ("je suis au", PRESENT, G0),
    ("je suis en", PRESENT, G0),
    ("je suis aux", PRESENT, G0),
    ("nous sommes a", PRESENT, G0),
    ("nous sommes en", PRESENT, G0),
    ("je me suis installe a", MOVED, G0),
    ("je me suis installee a", MOVED, G0),
    ("je me suis installe en", MOVED, G0),
    ("j ai demenage a", MOVED, G0),
    ("j ai demenage en", MOVED, G0),
    ("j ai demenage au", MOVED, G0),
    ("je viens de", ORIGIN, G0),
    ("je viens du", ORIGIN, G0),
    ("je viens d", ORIGIN, G0),
    ("base a", BASED, GP),
    ("basee a", BASED, GP),
    ("je vous ecris de", GREETING, G0),
    ("je vous ecris depuis", GREETING, G0),
    ("a", WEAK, GW),
    ("au", WEAK, GW),
    ("aux", WEAK, GW),
    // German
    ("ich wohne in", RESIDENCE, G0),
    ("ich wohne im", RESIDENCE, G0),
    ("wir wohnen in", RESIDENCE, G0),
    ("ich lebe in", RESIDENCE, G0),
    ("ich lebe im", RESIDENCE, G0),
    ("wir leben in", RESIDENCE, G0),
    ("wohnhaft in", RESIDENCE, GP),
    ("wohne in", RESIDENCE, GP),
    ("wohne im", RESIDENCE, GP),
    ("lebe in", RESIDENCE, GP),
    ("wohnen in", RESIDENCE, GP),
    ("leben in", RESIDENCE, GP),
    ("wohnt in", WEAK, G0),
    ("lebt in", WEAK, G0),
    ("ich bin in", PRESENT, G0),
    ("wir sind in", PRESENT, G0),
    ("hier in", PRESENT, GP),
    ("ich bin nach", MOVED, G0),
    ("ich komme aus", ORIGIN, G0),
    ("wir kommen aus", ORIGIN, G0),
    ("ich bin aus", ORIGIN, G0),
    ("grusse aus", GREETING, G0),
    ("gruesse aus", GREETING, G0),
    ("ansassig in", BASED, GP),
    // "bin Rapper aus Hamburg": like English "from".
    ("aus", ORIGIN, GW),
    // Italian
    ("vivo a", RESIDENCE, GP),
    ("vivo in", RESIDENCE, GP),
    ("viviamo a", RESIDENCE, G0),
    ("viviamo in", RESIDENCE, G0),
    ("abito a", RESIDENCE, G0),
    ("abito in", RESIDENCE, G0),
    ("abitiamo a", RESIDENCE, G0),
    ("abitiamo in", RESIDENCE, G0),
    ("risiedo a", RESIDENCE, G0),
    ("risiedo in", RESIDENCE, G0),
    ("sono a", PRESENT, G0),
    ("sono in", PRESENT, G0),
    ("siamo a", PRESENT, G0),
    ("siamo in", PRESENT, G0),
    ("mi sono trasferito a", MOVED, G0),
    ("mi sono trasferita a", MOVED, G0),
    ("mi sono trasferito in", MOVED, G0),
    ("mi sono trasferita in", MOVED, G0),
    ("sono di", ORIGIN, G0),
    ("vengo da", ORIGIN, G0),
    ("vengo dal", ORIGIN, G0),
    ("vengo dalla", ORIGIN, G0),
    ("saluti da", GREETING, G0),
    // Dutch
    ("ik woon in", RESIDENCE, G0),
    ("woon in", RESIDENCE, GP),
    ("woon nu in", RESIDENCE, GP),
    ("wij wonen in", RESIDENCE, G0),
    ("we wonen in", RESIDENCE, G0),
    ("woonachtig in", RESIDENCE, GP),
    ("ik ben in", PRESENT, G0),
    ("ik ben verhuisd naar", MOVED, G0),
    ("ik verhuisde naar", MOVED, G0),
    ("ik kom uit", ORIGIN, G0),
    ("groeten uit", GREETING, G0),
    ("gevestigd in", BASED, GP),
    // Swedish, Danish, Norwegian
    ("jag bor i", RESIDENCE, G0),
    ("bor i", RESIDENCE, GP),
    ("jag bor pa", RESIDENCE, G0),
    ("vi bor i", RESIDENCE, G0),
    ("jeg bor i", RESIDENCE, G0),
    ("jeg bor pa", RESIDENCE, G0),
    ("bosatt i", RESIDENCE, GP),
    ("jag ar i", PRESENT, G0),
    ("jeg er i", PRESENT, G0),
    ("jag flyttade till", MOVED, G0),
    ("jeg flyttet til", MOVED, G0),
    ("jeg flyttede til", MOVED, G0),
    ("jag kommer fran", ORIGIN, G0),
    ("jeg kommer fra", ORIGIN, G0),
    ("halsningar fran", GREETING, G0),
    ("hilsen fra", GREETING, G0),
    ("baserad i", BASED, GP),
    ("baseret i", BASED, GP),
    ("basert i", BASED, GP),
    ("i", WEAK, GW),
    // Finnish (locative case is part of the place name)
    ("asun", RESIDENCE, G0),
    ("asumme", RESIDENCE, G0),
    // Polish
    ("mieszkam w", RESIDENCE, G0),
    ("mieszkamy w", RESIDENCE, G0),
    ("mieszkamy we", RESIDENCE, G0),
    ("wrocilam do", MOVED, G0),
    ("wrocilem do", MOVED, G0),
    ("przeprowadzilam sie do", MOVED, G0),
    ("przeprowadzilem sie do", MOVED, G0),
    ("jestem w", PRESENT, G0),
    // Russian, Ukrainian
    ("я живу в", RESIDENCE, G0),
    ("живу в", RESIDENCE, G0),
    ("мы живем в", RESIDENCE, G0),
    ("я живу у", RESIDENCE, G0),
    ("живемо в", RESIDENCE, G0),
    ("живемо у", RESIDENCE, G0),
    ("я из", ORIGIN, G0),
    ("живем в", RESIDENCE, G0),
    // Finnish (the place is inflected: "muutin Tukholmaan")
    ("asun", RESIDENCE, G0),
    ("muutin", MOVED, G0),
    ("muutimme", MOVED, G0),
    // Czech
    ("bydlim v", RESIDENCE, G0),
    ("bydlim ve", RESIDENCE, G0),
    ("zijem v", RESIDENCE, G0),
    ("zijem ve", RESIDENCE, G0),
    ("jsem z", ORIGIN, G0),
    ("z", ORIGIN, GP),
    ("я з", ORIGIN, G0),
    // English: places left, tours, more phrasings
    ("i live in", RESIDENCE, G0),
    ("we live in", RESIDENCE, G0),
    ("i m living in", RESIDENCE, G0),
    ("ve lived in", RESIDENCE, G0),
    ("have lived in", RESIDENCE, G0),
    ("ve been living in", RESIDENCE, G0),
    ("have been living in", RESIDENCE, G0),
    ("home is", RESIDENCE, G0),
    ("back home in", RESIDENCE, G0),
    ("back home to", MOVED, G0),
    ("i m back in", PRESENT, G0),
    ("im back in", PRESENT, G0),
    ("moved to", MOVED, GP),
    ("moved back to", MOVED, GP),
    ("moved back home to", MOVED, GP),
    ("relocated to", MOVED, GP),
    ("originally from", ORIGIN, GP),
    ("grew up in", ORIGIN, GP),
    ("born in", ORIGIN, GP),
    ("born and raised in", ORIGIN, GP),
    ("used to live in", LEFT, G0),
    ("used to be based in", LEFT, G0),
    ("lived in", LEFT, G0),
    ("moved from", LEFT, G0),
    ("moved away from", LEFT, G0),
    ("moved here from", LEFT, G0),
    ("left", LEFT, G0),
    ("on tour in", TOUR, G0),
    ("touring in", TOUR, G0),
    ("touring", TOUR, G0),
    ("tour in", TOUR, G0),
    ("tour of", TOUR, G0),
    ("playing in", TOUR, G0),
    ("play in", TOUR, G0),
    ("played in", TOUR, G0),
    ("gig in", TOUR, G0),
    ("show in", TOUR, G0),
    ("shows in", TOUR, G0),
    ("festival in", TOUR, G0),
    ("tonight in", TOUR, G0),
    ("flying to", TOUR, G0),
    ("flew to", TOUR, G0),
    ("flying out to", TOUR, G0),
    ("heading to", TOUR, G0),
    ("travelling to", TOUR, G0),
    ("traveling to", TOUR, G0),
    ("trip to", TOUR, G0),
    ("lives in", WEAK, G0),
    // Third persons elsewhere ("mi amigo … vive en Rosario"); a residence
    // only when the message is written for that person (see `on_behalf`).
    ("vive en", WEAK, G0),
    ("vive em", WEAK, G0),
    ("vive na", WEAK, G0),
    ("vive no", WEAK, G0),
    ("vit a", WEAK, G0),
    ("vive a", WEAK, G0),
    ("woont in", WEAK, G0),
    // Portuguese, Spanish, French, German, Italian, Dutch, Swedish: left, tour, more
    ("estou morando em", RESIDENCE, G0),
    ("estou morando no", RESIDENCE, G0),
    ("estou morando na", RESIDENCE, G0),
    ("to em", PRESENT, G0),
    ("to no", PRESENT, G0),
    ("to na", PRESENT, G0),
    ("morava em", LEFT, G0),
    ("morava no", LEFT, G0),
    ("morava na", LEFT, G0),
    ("morei em", LEFT, G0),
    ("morei no", LEFT, G0),
    ("morei na", LEFT, G0),
    ("vim de", LEFT, G0),
    ("turne em", TOUR, G0),
    ("turne no", TOUR, G0),
    ("turne na", TOUR, G0),
    ("turne pela", TOUR, G0),
    ("turne pelo", TOUR, G0),
    ("show em", TOUR, G0),
    ("estoy viviendo en", RESIDENCE, G0),
    ("vivo aqui en", RESIDENCE, G0),
    ("me vine a", MOVED, G0),
    ("me fui a", MOVED, G0),
    ("nos fuimos a", MOVED, G0),
    ("me mude a vivir a", MOVED, G0),
    ("me mude de", LEFT, G0),
    ("vivia en", LEFT, G0),
    ("vivi en", LEFT, G0),
    ("de gira por", TOUR, G0),
    ("de gira en", TOUR, G0),
    ("gira por", TOUR, G0),
    ("concierto en", TOUR, G0),
    ("je suis base a", BASED, G0),
    ("je suis basee a", BASED, G0),
    ("je suis installe a", RESIDENCE, G0),
    ("je suis installee a", RESIDENCE, G0),
    ("je vis actuellement a", RESIDENCE, G0),
    ("j habitais a", LEFT, G0),
    ("j habitais en", LEFT, G0),
    ("j ai vecu a", LEFT, G0),
    ("en tournee a", TOUR, G0),
    ("en tournee en", TOUR, G0),
    ("en tournee au", TOUR, G0),
    ("ich wohne seit", RESIDENCE, G0),
    ("wohne in", RESIDENCE, GP),
    ("lebe in", RESIDENCE, GP),
    ("ich bin nach", MOVED, G0),
    ("bin nach", MOVED, GP),
    ("ich habe in", LEFT, G0),
    ("fruher in", LEFT, G0),
    ("auf tour in", TOUR, G0),
    ("tournee in", TOUR, G0),
    ("tour durch", TOUR, G0),
    ("vivevo a", LEFT, G0),
    ("abitavo a", LEFT, G0),
    ("in tour a", TOUR, G0),
    ("in tour in", TOUR, G0),
    ("ik woonde in", LEFT, G0),
    ("op tour in", TOUR, G0),
    ("jag bodde i", LEFT, G0),
    ("pa turne i", TOUR, G0),
    ("jeg bodde i", LEFT, G0),
    ("jeg boede i", LEFT, G0),
    ("jeg er fra", ORIGIN, G0),
    ("jag ar fran", ORIGIN, G0),
    // Polish, Czech, Russian, Ukrainian (inflected places)
    ("mieszkam we", RESIDENCE, G0),
    ("mieszkam na", RESIDENCE, G0),
    ("jestem z", ORIGIN, G0),
    ("jestem ze", ORIGIN, G0),
    ("pochodze z", ORIGIN, G0),
    ("przeprowadzilem sie do", MOVED, G0),
    ("przeprowadzilam sie do", MOVED, G0),
    ("mieszkalem w", LEFT, G0),
    ("mieszkalam w", LEFT, G0),
    ("bydlim v", RESIDENCE, G0),
    ("bydlime v", RESIDENCE, G0),
    ("ziju v", RESIDENCE, G0),
    ("jsem z", ORIGIN, G0),
    ("jsem v", PRESENT, G0),
    ("живу в", RESIDENCE, G0),
    ("живу во", RESIDENCE, G0),
    ("мы живём в", RESIDENCE, G0),
    ("проживаю в", RESIDENCE, G0),
    ("нахожусь в", PRESENT, G0),
    ("я сейчас в", PRESENT, G0),
    ("переехал в", MOVED, G0),
    ("уехал в", MOVED, G0),
    ("уехала в", MOVED, G0),
    ("уехали в", MOVED, G0),
    ("переехала в", MOVED, G0),
    ("переехали в", MOVED, G0),
    ("родом из", ORIGIN, G0),
    ("жил в", LEFT, G0),
    ("жила в", LEFT, G0),
    ("на гастролях в", TOUR, G0),
    ("живу у", RESIDENCE, G0),
    ("мешкаю в", RESIDENCE, G0),
    ("мешкаю у", RESIDENCE, G0),
    ("переїхав до", MOVED, G0),
    ("переїхала до", MOVED, G0),
    ("переїхав у", MOVED, G0),
    ("я родом з", ORIGIN, G0),
    // Arabic
    ("أعيش في", RESIDENCE, G0),
    ("اعيش في", RESIDENCE, G0),
    ("أسكن في", RESIDENCE, G0),
    ("اسكن في", RESIDENCE, G0),
    ("نعيش في", RESIDENCE, G0),
    ("مقيم في", RESIDENCE, G0),
    ("مقيمة في", RESIDENCE, G0),
    ("أقيم في", RESIDENCE, G0),
    ("اقيم في", RESIDENCE, G0),
    ("أنا في", PRESENT, G0),
    ("انا في", PRESENT, G0),
    ("أنا من", ORIGIN, G0),
    ("انا من", ORIGIN, G0),
    ("انتقلت إلى", MOVED, G0),
    ("انتقلت الى", MOVED, G0),
    ("انتقلت ل", MOVED, G0),
    ("كنت أعيش في", LEFT, G0),
    ("كنت اعيش في", LEFT, G0),
    ("جولة في", TOUR, G0),
    ("حفلة في", TOUR, G0),
    ("ساكن", RESIDENCE, G0),
    ("ساكنة", RESIDENCE, G0),
    ("عايش", RESIDENCE, G0),
    ("عايشة", RESIDENCE, G0),
    ("عايشين", RESIDENCE, G0),
    ("ساكنين", RESIDENCE, G0),
    ("كنسكن", RESIDENCE, G0),
    ("نسكن", RESIDENCE, G0),
    ("مقيم", RESIDENCE, G0),
    ("مقيمة", RESIDENCE, G0),
    ("في", WEAK, GW),
    ("من", ORIGIN, GW),
    // Greek
    ("μένω στην", RESIDENCE, G0),
    ("μένω στη", RESIDENCE, G0),
    ("μένω στο", RESIDENCE, G0),
    ("μένω στον", RESIDENCE, G0),
    ("ζω στην", RESIDENCE, G0),
    ("ζω στη", RESIDENCE, G0),
    ("ζω στο", RESIDENCE, G0),
    ("ζω στον", RESIDENCE, G0),
    ("είμαι στην", PRESENT, G0),
    ("είμαι στη", PRESENT, G0),
    ("είμαι στο", PRESENT, G0),
    ("είμαι από", ORIGIN, G0),
    ("είμαι από την", ORIGIN, G0),
    ("είμαι από τη", ORIGIN, G0),
    ("μετακόμισα στην", MOVED, G0),
    ("μετακόμισα στη", MOVED, G0),
    ("μετακόμισα στο", MOVED, G0),
    ("έμενα στην", LEFT, G0),
    ("έμενα στη", LEFT, G0),
    ("έμενα στο", LEFT, G0),
    ("στην", WEAK, GW),
    ("στη", WEAK, GW),
    // Hebrew (the preposition is glued to the place: "בתל אביב")
    ("אני גר", RESIDENCE, G0),
    ("אני גרה", RESIDENCE, G0),
    ("אנחנו גרים", RESIDENCE, G0),
    ("גר", RESIDENCE, GP),
    ("גרים", RESIDENCE, GP),
    ("גרה", RESIDENCE, GP),
    ("עברתי", MOVED, G0),
    ("עברנו", MOVED, G0),
    ("גרתי", LEFT, G0),
    // Indonesian
    ("saya tinggal di", RESIDENCE, G0),
    ("aku tinggal di", RESIDENCE, G0),
    ("tinggal di", RESIDENCE, GP),
    ("saya di", PRESENT, G0),
    ("aku di", PRESENT, G0),
    ("saya dari", ORIGIN, G0),
    ("aku dari", ORIGIN, G0),
    ("saya berasal dari", ORIGIN, G0),
    ("pindah ke", MOVED, G0),
    ("berbasis di", BASED, G0),
    ("dulu tinggal di", LEFT, G0),
    ("tur di", TOUR, G0),
    ("di", WEAK, GW),
    // Romanian
    ("locuiesc in", RESIDENCE, G0),
    ("locuiesc la", RESIDENCE, G0),
    ("traiesc in", RESIDENCE, G0),
    ("stau in", RESIDENCE, G0),
    ("sunt in", PRESENT, G0),
    ("sunt din", ORIGIN, G0),
    ("m am mutat in", MOVED, G0),
    ("m am mutat la", MOVED, G0),
    ("am locuit in", LEFT, G0),
    ("in turneu in", TOUR, G0),
    // Vietnamese
    ("tôi sống ở", RESIDENCE, G0),
    ("mình sống ở", RESIDENCE, G0),
    ("em sống ở", RESIDENCE, G0),
    ("sống ở", RESIDENCE, GP),
    ("sống tại", RESIDENCE, GP),
    ("tôi ở", PRESENT, G0),
    ("tôi đến từ", ORIGIN, G0),
    ("mình đến từ", ORIGIN, G0),
    ("chuyển đến", MOVED, G0),
    ("chuyển vào", MOVED, G0),
    ("chuyển ra", MOVED, G0),
    ("ở", WEAK, GW),
    ("tại", WEAK, GW),
    // Hindi (romanised) before the place
    ("main rehta hoon", RESIDENCE, G0),
];

/// Cues that follow the place, for languages whose prepositions come after
/// the name (Turkish, Hindi, Hungarian verbs): `İstanbul'da yaşıyorum`,
/// `मुंबई में रहता हूँ`, `Budapesten élek`.
const POST_CUES: &[(&str, EvidenceKind)] = &[
    // Turkish (suffixes after the apostrophe of a proper noun)
    ("da yasiyorum", RESIDENCE),
    ("de yasiyorum", RESIDENCE),
    ("ta yasiyorum", RESIDENCE),
    ("te yasiyorum", RESIDENCE),
    ("da yasiyoruz", RESIDENCE),
    ("de yasiyoruz", RESIDENCE),
    ("da oturuyorum", RESIDENCE),
    ("de oturuyorum", RESIDENCE),
    ("ta oturuyorum", RESIDENCE),
    ("te oturuyorum", RESIDENCE),
    ("da yasamaktayim", RESIDENCE),
    ("de yasamaktayim", RESIDENCE),
    ("da ikamet ediyorum", RESIDENCE),
    ("de ikamet ediyorum", RESIDENCE),
    ("dayim", PRESENT),
    ("deyim", PRESENT),
    ("tayim", PRESENT),
    ("teyim", PRESENT),
    ("dayiz", PRESENT),
    ("deyiz", PRESENT),
    ("liyim", ORIGIN),
    ("luyum", ORIGIN),
    ("lıyım", ORIGIN),
    ("dan geliyorum", ORIGIN),
    ("den geliyorum", ORIGIN),
    ("tan geliyorum", ORIGIN),
    ("ten geliyorum", ORIGIN),
    ("a tasindim", MOVED),
    ("e tasindim", MOVED),
    ("ya tasindim", MOVED),
    ("ye tasindim", MOVED),
    ("da yasiyordum", LEFT),
    ("de yasiyordum", LEFT),
    ("da konser", TOUR),
    ("de konser", TOUR),
    ("turnesi", TOUR),
    // Hindi
    ("में रहता", RESIDENCE),
    ("में रहती", RESIDENCE),
    ("में रहते", RESIDENCE),
    ("में रह रहा", RESIDENCE),
    ("में रह रही", RESIDENCE),
    ("में हूँ", PRESENT),
    ("में हूं", PRESENT),
    ("से हूँ", ORIGIN),
    ("से हूं", ORIGIN),
    ("का रहने वाला", ORIGIN),
    ("की रहने वाली", ORIGIN),
    ("में शिफ्ट", MOVED),
    ("में रहता था", LEFT),
    ("में रहती थी", LEFT),
    ("mein rehta", RESIDENCE),
    ("mein rehti", RESIDENCE),
    ("mein rehte", RESIDENCE),
    ("me rehta", RESIDENCE),
    ("me rehti", RESIDENCE),
    ("mein rehta tha", LEFT),
    ("se hoon", ORIGIN),
    ("se hu", ORIGIN),
    ("yasiyorum", RESIDENCE),
    ("oturuyorum", RESIDENCE),
    ("yasiyoruz", RESIDENCE),
    // Hungarian (after an inflected place)
    ("elek", RESIDENCE),
    ("lakom", RESIDENCE),
    ("lakunk", RESIDENCE),
    ("elunk", RESIDENCE),
    ("vagyok", PRESENT),
    ("eltem", LEFT),
    ("laktam", LEFT),
    // Finnish
    ("asun", RESIDENCE),
    // German and Dutch verbs at the end of a clause ("der in Wien lebt",
    // "bin jetzt zurück nach Dresden gezogen", "die in Utrecht woont")
    ("lebe", RESIDENCE),
    ("lebt", RESIDENCE),
    ("wohne", RESIDENCE),
    ("wohnt", RESIDENCE),
    ("gezogen", MOVED),
    ("umgezogen", MOVED),
    ("gelebt", LEFT),
    ("gewohnt", LEFT),
    ("woon", RESIDENCE),
    ("woont", RESIDENCE),
    ("verhuisd", MOVED),
    ("gewoond", LEFT),
];

/// Words that may sit between the words of a cue ("I'm currently based in").
const ADVERBS: &[&str] = &[
    "currently",
    "now",
    "still",
    "also",
    "actually",
    "really",
    "just",
    "recently",
    "both",
    "all",
    "originally",
    "permanently",
    "ainda",
    "agora",
    "atualmente",
    "actualmente",
    "ahora",
    "tambien",
    "tambem",
    "hoje",
    "hoy",
    "actuellement",
    "maintenant",
    "aussi",
    "desormais",
    "jetzt",
    "derzeit",
    "zurzeit",
    "aktuell",
    "momentan",
    "auch",
    "noch",
    "seit",
    "ora",
    "attualmente",
    "anche",
    "momenteel",
    "ook",
    "nog",
    "numera",
    "fortfarande",
    "nu",
    "teraz",
    "сейчас",
    "теперь",
    "зараз",
    // "live all in", "bor selv i", "живём все в", "живемо всі в"
    "selv",
    "alle",
    "все",
    "всі",
    "уже",
    "вже",
];

/// Articles that may sit between the cue and the place ("in the UK").
const FILLERS: &[&str] = &[
    "the",
    "o",
    "os",
    "a",
    "as",
    "la",
    "las",
    "le",
    "les",
    "l",
    "el",
    "los",
    "der",
    "die",
    "dem",
    "den",
    "het",
    "lo",
    "il",
    "sunny",
    "rainy",
    "beautiful",
    "lovely",
    "city",
    "of",
];

/// Verbs of moving house, folded, that make the next "to X" a move.
const MOVE_VERBS: &[&str] = &[
    "moved",
    "relocated",
    "mudei",
    "mudamos",
    "mude",
    "mudou",
    "demenage",
    "trasferito",
    "trasferita",
    "trasferiti",
    "verhuisd",
    "verhuist",
    "flyttade",
    "flyttat",
    "flyttet",
    "flyttede",
    "gezogen",
    "umgezogen",
];

/// Words for a settlement between a cue and the region it is in ("vivo
/// en un pueblo de la sierra de Oaxaca", "I live in a small town near
/// Leeds").
const SETTLEMENTS: &[&str] = &[
    "town",
    "village",
    "suburb",
    "pueblo",
    "pueblito",
    "aldea",
    "vilarejo",
    "aldeia",
    "interior",
    "village",
    "bourg",
    "dorf",
    "kleinstadt",
    "paese",
    "paesino",
    "borgo",
    "dorp",
    "stadje",
    "by",
];

/// Words that may sit around a settlement word ("a small town near",
/// "de la sierra de").
const SETTLEMENT_LINKS: &[&str] = &[
    "a", "an", "small", "little", "tiny", "near", "outside", "in", "of", "un", "una", "um", "uma",
    "de", "del", "da", "do", "la", "sierra", "cerca", "perto", "em", "no", "na", "pres", "d",
    "bei", "nahe", "kleinen", "kleines", "einem", "ein", "piccolo", "vicino", "nel", "klein",
    "bij",
];

/// Prepositions between a place and the region or country that qualifies it.
const QUALIFIER_PREPS: &[&str] = &["in", "en", "em", "a", "im", "nel", "na", "no", "i"];

/// Words that, right before a [`Guard::Person`] cue, mean it is about
/// someone or something else, a wish, or a performance.
const PERSON_REJECT: &[&str] = &[
    "to",
    "used",
    "t",
    "not",
    "never",
    "he",
    "she",
    "they",
    "it",
    "who",
    "which",
    "that",
    "people",
    "parents",
    "mother",
    "father",
    "mum",
    "mom",
    "dad",
    "brother",
    "sister",
    "manager",
    "friend",
    "friends",
    "family",
    "s",
    "is",
    "are",
    "was",
    "were",
    "label",
    "company",
    "agency",
    "studio",
    "firm",
    "organisation",
    "organization",
    "charity",
    "venue",
    "promoter",
    "publisher",
    "distributor",
    "play",
    "played",
    "playing",
    "plays",
    "perform",
    "performed",
    "performing",
    "recorded",
    "record",
    "recording",
    "streaming",
    "stream",
    "streamed",
    "broadcast",
    "going",
    "go",
    "went",
    "concert",
    "show",
    "shows",
    "album",
    "gig",
    "set",
    "sing",
    "sang",
    "singing",
    "d",
    "would",
    "could",
    "should",
    "might",
    "ll",
    "gonna",
    "wanna",
    "ao",
    "al",
    "dal",
    "del",
    "gravado",
    "grabado",
    "show",
    "could",
    "lives",
];

/// Words near a bare preposition that, besides [`TOURING`], make it about
/// the past, the future or someone else rather than where the sender lives.
const TRAVEL: &[&str] = &[
    "recorded",
    "recording",
    "born",
    "studied",
    "stayed",
    "was",
    "were",
    "been",
    "had",
    "went",
    "will",
    "ll",
    "going",
    "gonna",
    "next",
    "last",
    "nasci",
    "naci",
    "nacido",
    "geboren",
    "nato",
    "nata",
    "back",
    "return",
    "returned",
    "came",
    "away",
    "far",
    "email",
    "message",
    "mail",
    "call",
    "letter",
    "friend",
    "someone",
    "somebody",
    "released",
    "release",
    "label",
    "company",
    "agency",
    "manager",
    "team",
    "venue",
    "venues",
    "tickets",
    "ticket",
    "fans",
    "audience",
    "people",
    "clients",
    "artists",
    "artist",
    "colleague",
    "colleagues",
    "sister",
    "brother",
    "mother",
    "father",
    "mum",
    "mom",
    "dad",
    "parents",
    "family",
    "shooting",
    "filming",
];

/// Words after the place that move a bare statement into the past/future.
const TIME_AFTER: &[&str] = &[
    "last",
    "next",
    "ago",
    "yesterday",
    "tomorrow",
    "anymore",
    "before",
    "previously",
    "once",
    "someday",
    "soon",
    "eventually",
    "passado",
    "pasado",
    "dernier",
    "letzten",
    "letztes",
    "scorso",
    "vorig",
    "forra",
];

/// Negations right before a cue.
const NEGATORS: &[&str] = &[
    "not", "t", "never", "no", "nao", "nunca", "jamais", "nie", "niet", "inte", "ikke", "ei",
    "nicht", "non", "longer", "used", "не",
];

struct Cue {
    words: Vec<String>,
    kind: EvidenceKind,
    guard: Guard,
}

/// Cue phrases are folded like the text, so they are written naturally.
fn fold_phrase(p: &str) -> Vec<String> {
    text::tokenize(p).into_iter().map(|t| t.norm).collect()
}

static CUE_INDEX: LazyLock<HashMap<String, Vec<Cue>>> = LazyLock::new(|| {
    let mut map: HashMap<String, Vec<Cue>> = HashMap::new();
    for (phrase, kind, guard) in CUES {
        let words = fold_phrase(phrase);
        if let Some(first) = words.first() {
            map.entry(first.clone()).or_default().push(Cue {
                words,
                kind: *kind,
                guard: *guard,
            });
        }
    }
    map
});

static POST_CUE_LIST: LazyLock<Vec<(Vec<String>, EvidenceKind)>> = LazyLock::new(|| {
    let mut v: Vec<(Vec<String>, EvidenceKind)> = POST_CUES
        .iter()
        .map(|(p, k)| (fold_phrase(p), *k))
        .collect();
    // Longest first: "da yasiyordum" (left) before "da" forms.
    v.sort_by_key(|(w, _)| std::cmp::Reverse(w.len()));
    v
});

/// A place statement found in the text.
#[derive(Clone, Debug)]
struct Statement {
    kind: EvidenceKind,
    shares: Vec<(CountryCode, f32)>,
    text: String,
    note: Option<String>,
}

/// A place with its optional qualifier ("Paris, TX", "Toronto, Canada").
struct Resolved {
    place: Place,
    /// Countries after the qualifier narrowed them.
    shares: Vec<(CountryCode, f32)>,
    /// Index of the first token after the place (and qualifier).
    end: usize,
    /// Index of the first token after the place itself.
    name_end: usize,
    qualified: bool,
}

/// Narrows a place's countries to those of a qualifier; a qualifier the
/// place is not known in wins outright ("Springfield, Jamaica").
fn narrow(shares: &[(CountryCode, f32)], to: &[CountryCode]) -> Vec<(CountryCode, f32)> {
    if to.is_empty() {
        return shares.to_vec();
    }
    let kept: Vec<(CountryCode, f32)> = shares
        .iter()
        .copied()
        .filter(|(c, _)| to.contains(c))
        .collect();
    let total: f32 = kept.iter().map(|k| k.1).sum();
    if kept.is_empty() || total <= 0.0 {
        let share = 1.0 / to.len() as f32;
        return to.iter().map(|c| (*c, share)).collect();
    }
    kept.into_iter().map(|(c, s)| (c, s / total)).collect()
}

fn resolve(tokens: &[Token], i: usize) -> Option<Resolved> {
    let (p, n) = places::match_at(tokens, i)?;
    let mut r = Resolved {
        shares: p.shares.clone(),
        place: p,
        end: i + n,
        name_end: i + n,
        qualified: false,
    };
    let Some(next) = tokens.get(r.end) else {
        return Some(r);
    };
    if !matches!(next.sep, Sep::Space | Sep::Comma) {
        return Some(r);
    }
    let specific = r.place.kind == Kind::City || r.place.shares.len() > 1;
    // "Santiago, en Galicia", "Lisbon, in Portugal": a region or country
    // after a comma and a preposition qualifies the place.
    if specific
        && next.sep == Sep::Comma
        && in_list(QUALIFIER_PREPS, &next.norm)
        && let Some((q, qn)) = places::match_at(tokens, r.end + 1)
        && q.kind != Kind::City
        && tokens.get(r.end + 1).is_some_and(|t| t.sep == Sep::Space)
    {
        let to: Vec<CountryCode> = q.shares.iter().map(|s| s.0).collect();
        r.shares = narrow(&r.shares, &to);
        r.end += 1 + qn;
        r.qualified = true;
        return Some(r);
    }
    // "Perth in Scotland", "Córdoba en Argentina": the region or country
    // that contains one of the place's meanings.
    if specific
        && next.sep == Sep::Space
        && matches!(next.norm.as_str(), "in" | "en" | "em")
        && let Some((q, qn)) = places::match_at(tokens, r.end + 1)
        && q.kind != Kind::City
        && tokens
            .get(r.end + 1)
            .is_some_and(|t| t.sep == Sep::Space && t.upper_initial)
        && r.shares.len() > 1
        && q.shares.iter().any(|c| r.shares.iter().any(|s| s.0 == c.0))
    {
        let to: Vec<CountryCode> = q.shares.iter().map(|s| s.0).collect();
        r.shares = narrow(&r.shares, &to);
        r.end += 1 + qn;
        r.qualified = true;
        return Some(r);
    }
    if let Some((q, qn)) = places::match_at(tokens, r.end) {
        if q.kind != Kind::City || q.flags & flag::AREA != 0 {
            let to: Vec<CountryCode> = q.shares.iter().map(|s| s.0).collect();
            if specific || r.place.kind == Kind::Region {
                let narrowed = narrow(&r.shares, &to);
                // A region only qualifies a place it contains.
                if q.kind == Kind::Country
                    || narrowed
                        .iter()
                        .any(|(c, _)| r.shares.iter().any(|s| s.0 == *c))
                {
                    r.shares = narrowed;
                }
            }
            r.end += qn;
            r.qualified = true;
        }
    } else if (specific || r.place.kind == Kind::Region)
        && let Some(codes) = places::qualifier_code(next)
    {
        if specific && !codes.is_empty() {
            r.shares = narrow(&r.shares, &codes);
        }
        r.end += 1;
        r.qualified = true;
    }
    Some(r)
}

/// A place whose token carries an ending or a glued preposition
/// ("Warszawie", "Москве", "בתל אביב", "بالقاهرة"), right at a cue.
fn resolve_inflected(tokens: &[Token], i: usize) -> Option<Resolved> {
    let t = tokens.get(i)?;
    // Glued Hebrew and Arabic prepositions.
    for prefix in ["ב", "ל", "מ", "ו", "ل", "ب", "و", "ف", "بال", "فال", "في"] {
        if let Some(rest) = t.norm.strip_prefix(prefix)
            && rest.chars().count() >= 2
        {
            let mut copy: Vec<Token> = tokens[i..tokens.len().min(i + 5)].to_vec();
            copy[0].norm = rest.to_string();
            if let Some(mut r) = resolve(&copy, 0) {
                r.end += i;
                r.name_end += i;
                return Some(r);
            }
        }
    }
    let p = places::match_inflected(t)?;
    Some(Resolved {
        shares: p.shares.clone(),
        place: p,
        end: i + 1,
        name_end: i + 1,
        qualified: false,
    })
}

fn in_list(list: &[&str], w: &str) -> bool {
    list.contains(&w)
}

/// Matches `words` at `tokens[i..]`, allowing adverbs between them;
/// returns the index after the match.
fn match_words(tokens: &[Token], i: usize, words: &[String]) -> Option<usize> {
    let mut j = i;
    for (k, w) in words.iter().enumerate() {
        if k > 0 {
            while tokens
                .get(j)
                .is_some_and(|t| t.norm != *w && in_list(ADVERBS, &t.norm) && t.sep != Sep::Stop)
            {
                j += 1;
            }
        }
        let t = tokens.get(j)?;
        if t.norm != *w || (k > 0 && matches!(t.sep, Sep::Stop)) {
            return None;
        }
        j += 1;
    }
    Some(j)
}

/// Previous tokens of the same clause, nearest first (stops at punctuation).
fn clause_before(tokens: &[Token], i: usize, max: usize) -> impl Iterator<Item = &Token> {
    let mut k = i;
    let mut open = true;
    std::iter::from_fn(move || {
        if !open || k == 0 {
            return None;
        }
        // The token at k is preceded by its separator; stop if it ends a clause.
        if matches!(tokens[k].sep, Sep::Stop | Sep::Comma) {
            open = false;
            return None;
        }
        k -= 1;
        Some(&tokens[k])
    })
    .take(max)
}

/// Words that make a place a tour stop or a trip.
const TOURING: &[&str] = &[
    "tour",
    "toured",
    "touring",
    "tours",
    "tournee",
    "turne",
    "turnen",
    "gira",
    "played",
    "play",
    "playing",
    "gig",
    "gigs",
    "show",
    "shows",
    "concert",
    "concerts",
    "festival",
    "festivals",
    "visited",
    "visit",
    "visiting",
    "trip",
    "trips",
    "vacation",
    "holiday",
    "holidays",
    "flew",
    "flight",
    "flying",
    "fly",
    "travel",
    "traveled",
    "travelled",
    "traveling",
    "travelling",
    "viagem",
    "viajei",
    "ferias",
    "vacaciones",
    "viaje",
    "voyage",
    "vacances",
    "reise",
    "urlaub",
    "konzert",
    "gespielt",
    "tocamos",
    "toquei",
    "tocando",
    "tonight",
    "booked",
    "booking",
];

/// Whether the words just before a statement make it a tour stop or trip.
fn touring_context(tokens: &[Token], start: usize) -> bool {
    clause_before(tokens, start, 5).any(|t| in_list(TOURING, &t.norm))
}

/// Whether the words around a statement make it travel, the past or the
/// future rather than where the sender lives.
fn travel_context(tokens: &[Token], start: usize, end: usize) -> bool {
    let travel_before = clause_before(tokens, start, 7)
        .any(|t| in_list(TRAVEL, &t.norm) || in_list(TOURING, &t.norm));
    let time_after = tokens
        .iter()
        .skip(end)
        .take(4)
        .take_while(|t| t.sep != Sep::Stop)
        .any(|t| {
            in_list(TIME_AFTER, &t.norm)
                || (t.norm.len() == 4 && t.norm.chars().all(|c| c.is_ascii_digit()))
        });
    travel_before || time_after
}

/// What a cue match amounts to once its context is read.
enum Verdict {
    Reject,
    Keep(EvidenceKind),
}

fn judge(tokens: &[Token], start: usize, end: usize, place_end: usize, cue: &Cue) -> Verdict {
    // Negations directly before the cue ("I don't live in", "não moro em").
    if clause_before(tokens, start, 2).any(|t| in_list(NEGATORS, &t.norm)) {
        return Verdict::Reject;
    }
    match cue.guard {
        Guard::None => {}
        Guard::Person => {
            if clause_before(tokens, start, 2).any(|t| in_list(PERSON_REJECT, &t.norm)) {
                return Verdict::Reject;
            }
        }
        Guard::Weak => {}
        Guard::AfterMove => {
            if !clause_before(tokens, start, 8).any(|t| in_list(MOVE_VERBS, &t.norm)) {
                return Verdict::Reject;
            }
        }
    }
    match cue.kind {
        EvidenceKind::Tour | EvidenceKind::Left => Verdict::Keep(cue.kind),
        EvidenceKind::Mention | EvidenceKind::Present | EvidenceKind::Greeting
            if touring_context(tokens, start) =>
        {
            Verdict::Keep(TOUR)
        }
        EvidenceKind::Mention if travel_context(tokens, start, place_end.max(end)) => {
            Verdict::Reject
        }
        k => Verdict::Keep(k),
    }
}

/// Whether the place may be taken at a cue of `kind`: lower-case names and
/// common words ("Nice", "Reading") need a clear cue and a capital.
fn case_ok(tokens: &[Token], r: &Resolved, start: usize, kind: EvidenceKind) -> bool {
    let first = &tokens[start];
    let native = r.place.flags & flag::NATIVE != 0 || !first.norm.is_ascii();
    // Scripts without capitals (Arabic, Hebrew, Devanagari...) count as capitalised.
    let caseless = !first
        .norm
        .chars()
        .any(|c| c.is_lowercase() || c.is_uppercase());
    let capital = first.upper_initial || first.all_upper || caseless;
    // "Chad's band", "Paris Hilton", "India Rose": a person, not a place.
    if !r.qualified && !native {
        match tokens.get(r.name_end) {
            Some(t) if t.sep == Sep::Space && t.norm == "s" => return false,
            Some(t)
                if t.sep == Sep::Space
                    && t.upper_initial
                    && !t.all_upper
                    && !places::is_place_start(tokens, r.name_end) =>
            {
                return false;
            }
            _ => {}
        }
    }
    // A common word ("Nice", "Reading", and famous cities that word lists
    // count as words, "Leeds") is a place when capitalised after a cue.
    // After a bare preposition only a large one: "in Leeds", not "in March".
    if r.place.flags & flag::COMMON != 0 {
        // Lower case only after a clear cue and for a big city ("aus
        // bochum", "moved to bath"), never after a bare preposition.
        return (capital && (clear(kind) || r.place.size >= 100_000.0))
            || (clear(kind) && r.place.size >= 100_000.0);
    }
    if capital || native {
        return true;
    }
    // Portuguese "no", "na" are Spanish words too ("no sale de la casa" is
    // not Salé): lower case only after a real cue.
    if kind == EvidenceKind::Mention
        && start > 0
        && matches!(tokens[start - 1].norm.as_str(), "no" | "na")
    {
        return false;
    }
    // Another language's name for a country ("cada" is not Čada, Chad).
    if r.place.kind == Kind::Country && r.place.flags & flag::ALT != 0 {
        return clear(kind);
    }
    // Lower case after a bare preposition only for a large place ("in amsterdam").
    clear(kind) || r.place.size >= 100_000.0
}

/// An unknown town followed by a known region or country ("Hebden Bridge,
/// West Yorkshire", "Marfa, Texas"): the region or country, qualified.
fn resolve_unknown_town(tokens: &[Token], p: usize) -> Option<Resolved> {
    let mut q = p;
    while q < tokens.len() && q < p + 4 {
        let t = &tokens[q];
        if q > p && t.sep == Sep::Comma {
            let r = resolve(tokens, q)?;
            // A capitalised region after a town and a comma ("Marfa, Texas")
            // is that region even when the word is also common.
            // ("Hebden Bridge, West Yorkshire" is not West, Cameroon.)
            let ends_clause = tokens
                .get(r.end)
                .is_none_or(|n| matches!(n.sep, Sep::Stop | Sep::Newline | Sep::Comma));
            let common_ok = r.place.flags & flag::COMMON == 0 || (t.upper_initial && ends_clause);
            return (r.place.kind != Kind::City && common_ok).then_some(Resolved {
                qualified: true,
                ..r
            });
        }
        if !t.upper_initial || (q > p && t.sep != Sep::Space) {
            return None;
        }
        q += 1;
    }
    None
}

/// The word of explanation shown with a place left or a tour stop.
fn note_for(kind: EvidenceKind) -> Option<String> {
    match kind {
        EvidenceKind::Tour => Some(TOUR_NOTE.into()),
        EvidenceKind::Left => Some("a place they left".into()),
        _ => None,
    }
}

const TOUR_NOTE: &str = "tour stop or trip: not where they need care";

fn snippet(text: &str, tokens: &[Token], from: usize, to: usize) -> String {
    let a = tokens.get(from).map_or(0, |t| t.span.0);
    let b = tokens
        .get(to.saturating_sub(1).max(from))
        .map_or(text.len(), |t| t.span.1);
    clip(text.get(a..b).unwrap_or(""))
}

/// Statements introduced by cue phrases before the place.
fn cue_statements(text: &str, tokens: &[Token], out: &mut Vec<Statement>) {
    // Per place start, the longest cue wins ("used to live in" over "live in").
    let mut best: HashMap<usize, (usize, Statement)> = HashMap::new();
    for i in 0..tokens.len() {
        let Some(cues) = CUE_INDEX.get(tokens[i].norm.as_str()) else {
            continue;
        };
        for cue in cues {
            let Some(end) = match_words(tokens, i, &cue.words) else {
                continue;
            };
            // The place, possibly after an article or two, or after "a
            // small town near", "un pueblo de la sierra de" (clear cues only).
            let mut found = None;
            let mut settlement = false;
            for p in end..end + 8 {
                if p >= end + 3 && !settlement {
                    break;
                }
                let Some(t) = tokens.get(p) else { break };
                if matches!(t.sep, Sep::Stop) || (p == end && matches!(t.sep, Sep::Newline)) {
                    break;
                }
                let is_settlement = cue.guard != Guard::Weak && in_list(SETTLEMENTS, &t.norm);
                let is_link = cue.guard != Guard::Weak
                    && (settlement || p < end + 3)
                    && in_list(SETTLEMENT_LINKS, &t.norm);
                if is_settlement {
                    settlement = true;
                    continue;
                }
                // "un pueblo": "Un" is also a town; the link words before a
                // settlement word are skipped unread.
                let settlement_ahead = (p + 1..p + 3)
                    .any(|q| tokens.get(q).is_some_and(|t| in_list(SETTLEMENTS, &t.norm)));
                if is_link && (settlement || settlement_ahead) {
                    continue;
                }
                // An article is skipped unless it starts a longer name
                // ("in der" is not Der, Hungary; "Los Angeles" is a place).
                let filler = in_list(FILLERS, &t.norm);
                let after_the = p > end && tokens[p - 1].norm == "the";
                if let Some(r) = resolve(tokens, p)
                    && !(filler && r.name_end == p + 1)
                    && t.norm.chars().count() >= 2
                    // "up in the Highlands": English names a city without
                    // an article ("the Hague" is its own name).
                    && !(after_the && r.place.kind == Kind::City && r.place.size < 100_000.0)
                {
                    found = Some((p, r));
                    break;
                }
                if cue.guard != Guard::Weak
                    && let Some(r) = resolve_inflected(tokens, p)
                {
                    found = Some((p, r));
                    break;
                }
                if let Some(r) = resolve_unknown_town(tokens, p) {
                    found = Some((p, r));
                    break;
                }
                if !filler && !is_link {
                    break;
                }
            }
            // "Moro em SP": a region's code right after a clear cue, when
            // only one country uses it ("LA" is Louisiana and Ladakh).
            if found.is_none()
                && cue.guard != Guard::Weak
                && clear(cue.kind)
                && let Some(t) = tokens.get(end)
                && t.sep == Sep::Space
                && let Some(codes) = places::region_code(t)
                && codes.len() == 1
            {
                let share = 1.0 / codes.len() as f32;
                let st = Statement {
                    kind: cue.kind,
                    shares: codes.iter().map(|c| (*c, share)).collect(),
                    text: snippet(text, tokens, i, end + 1),
                    note: note_for(cue.kind),
                };
                let len = end - i;
                match best.get(&end) {
                    Some((l, _)) if *l >= len => {}
                    _ => {
                        best.insert(end, (len, st));
                    }
                }
                continue;
            }
            let Some((p, r)) = found else { continue };
            if r.shares.is_empty() {
                continue;
            }
            let Verdict::Keep(kind) = judge(tokens, i, end, r.end, cue) else {
                continue;
            };
            if !case_ok(tokens, &r, p, kind) {
                continue;
            }
            let after = tokens.get(r.end).map(|t| t.norm.as_str());
            if matches!(after, Some("anymore" | "anywhere")) {
                continue;
            }
            let len = end - i;
            let st = Statement {
                kind,
                shares: r.shares.clone(),
                text: snippet(text, tokens, i, r.end),
                note: note_for(kind),
            };
            match best.get(&p) {
                Some((l, _)) if *l >= len => {}
                _ => {
                    best.insert(p, (len, st));
                }
            }
        }
    }
    let mut v: Vec<(usize, Statement)> = best.into_iter().map(|(p, (_, s))| (p, s)).collect();
    v.sort_by_key(|(p, _)| *p);
    out.extend(v.into_iter().map(|(_, s)| s));
}

/// Statements whose cue follows the place ("İstanbul'da yaşıyorum").
fn post_cue_statements(text: &str, tokens: &[Token], out: &mut Vec<Statement>) {
    let mut i = 0;
    while i < tokens.len() {
        let r = resolve(tokens, i).or_else(|| resolve_inflected(tokens, i));
        let Some(r) = r else {
            i += 1;
            continue;
        };
        let hit = POST_CUE_LIST
            .iter()
            .find_map(|(words, kind)| match_words(tokens, r.end, words).map(|e| (e, *kind)));
        if let Some((e, kind)) = hit
            && !r.shares.is_empty()
            && tokens
                .get(r.end)
                .is_some_and(|t| !matches!(t.sep, Sep::Stop | Sep::Newline | Sep::Comma))
            && case_ok(tokens, &r, i, kind)
        {
            let note = note_for(kind);
            out.push(Statement {
                kind,
                shares: r.shares.clone(),
                text: snippet(text, tokens, i, e),
                note,
            });
        }
        i = r.end.max(i + 1);
    }
}

/// Labels of a "Country: Brazil" line, folded.
const LABELS: &[&str] = &[
    "country",
    "country of residence",
    "location",
    "residence",
    "based in",
    "city",
    "home",
    "where are you based",
    "where are you located",
    "pais",
    "pais de residencia",
    "localizacao",
    "localidade",
    "cidade",
    "ciudad",
    "ubicacion",
    "residencia",
    "pays",
    "pays de residence",
    "ville",
    "lieu",
    "localisation",
    "land",
    "wohnort",
    "standort",
    "ort",
    "wohnland",
    "paese",
    "nazione",
    "citta",
    "luogo",
    "residenza",
    "woonplaats",
    "plaats",
    "stad",
    "bostadsort",
    "hemort",
    "bopael",
    "maa",
    "kotimaa",
    "asuinpaikka",
    "kaupunki",
    "kraj",
    "miasto",
    "страна",
    "город",
    "країна",
    "місто",
    "国",
    "国名",
    "居住国",
    "居住地",
    "所在地",
    "お住まい",
    "국가",
    "거주지",
    "거주 국가",
    "国家",
    "所在国家",
    "城市",
    "state",
    "region",
    "estado",
    "cidade estado",
    "provincia",
    "ulke",
    "sehir",
    "zeme",
    "mesto",
    "tara",
    "oras",
    "orszag",
    "varos",
    "by",
    "χώρα",
    "πόλη",
    "البلد",
    "الدولة",
    "المدينة",
    "מדינה",
    "עיר",
    "negara",
    "kota",
    "quoc gia",
    "thanh pho",
    "देश",
    "शहर",
];

fn label_value(line: &str) -> Option<&str> {
    let (label, value) = line.split_once([':', '：'])?;
    let label = places::key(label.trim().trim_start_matches(['*', '-', '•']));
    if label.is_empty() || !LABELS.contains(&label.as_str()) {
        return None;
    }
    Some(value)
}

fn label_statement(line: &str) -> Option<Statement> {
    let value = label_value(line)?;
    if let Some((p, _)) = places::cjk_places(value).into_iter().next() {
        return Some(Statement {
            kind: LABEL,
            shares: p.shares,
            text: clip(line),
            note: None,
        });
    }
    let tokens = text::tokenize(value);
    let mut first: Option<Vec<(CountryCode, f32)>> = None;
    let mut i = 0;
    while i < tokens.len() {
        if let Some(r) = resolve(&tokens, i) {
            // A country name, or a qualified city, is decisive.
            if r.place.kind != Kind::City || r.qualified {
                return Some(Statement {
                    kind: LABEL,
                    shares: r.shares,
                    text: clip(line),
                    note: None,
                });
            }
            first.get_or_insert(r.shares);
            i = r.end;
        } else {
            i += 1;
        }
    }
    first.map(|shares| Statement {
        kind: LABEL,
        shares,
        text: clip(line),
        note: None,
    })
}

/// A short line made only of places: "Lisboa, Portugal", "Nashville, TN 37203".
fn signature_statement(line: &str) -> Option<Statement> {
    let tokens = text::tokenize(line);
    if !(1..=8).contains(&tokens.len()) {
        return None;
    }
    let mut i = 0;
    let mut units = 0;
    let mut shares: Option<Vec<(CountryCode, f32)>> = None;
    let mut qualified = false;
    let mut has_country = false;
    while i < tokens.len() {
        if tokens[i].norm.chars().all(|c| c.is_ascii_digit()) {
            i += 1;
            continue;
        }
        let r = resolve(&tokens, i)?;
        if !tokens[i].upper_initial && tokens[i].norm.is_ascii() {
            return None;
        }
        if r.place.flags & flag::COMMON != 0 && units == 0 && !r.qualified {
            return None;
        }
        has_country |= r.place.kind != Kind::City;
        shares = Some(match shares {
            None => r.shares,
            Some(prev) => {
                let to: Vec<CountryCode> = r.shares.iter().map(|s| s.0).collect();
                let n = narrow(&prev, &to);
                if n.iter().all(|(c, _)| !prev.iter().any(|p| p.0 == *c)) {
                    return None; // two places in different countries
                }
                n
            }
        });
        qualified |= r.qualified;
        units += 1;
        i = r.end;
    }
    // A city with its region or country ("Lisboa, Portugal", "Nashville, TN");
    // two bare towns ("Cody Harlan") are a name.
    if (units >= 2 && has_country) || qualified || (units == 1 && has_country && tokens.len() <= 3)
    {
        // "Lisboa, Portugal" on a line of its own reads like an address
        // label; a bare town is only a signature.
        let kind = if qualified || (units >= 2 && has_country) {
            LABEL
        } else {
            SIGNATURE
        };
        shares.map(|shares| Statement {
            kind,
            shares,
            text: clip(line),
            note: None,
        })
    } else {
        None
    }
}

/// Cues after a CJK place, longest first within a kind's family.
const CJK_SUFFIX: &[(&str, EvidenceKind)] = &[
    ("に住んでいました", LEFT),
    ("に住んでいた", LEFT),
    ("に住んでた", LEFT),
    ("に住んで", RESIDENCE),
    ("に住む", RESIDENCE),
    ("に住んでます", RESIDENCE),
    ("に在住", RESIDENCE),
    ("在住", RESIDENCE),
    ("に暮らして", RESIDENCE),
    ("で暮らして", RESIDENCE),
    ("で生活", RESIDENCE),
    ("を拠点に", BASED),
    ("に拠点", BASED),
    ("拠点", BASED),
    ("にいます", PRESENT),
    ("に居ます", PRESENT),
    ("にいる", PRESENT),
    ("に引っ越し", MOVED),
    ("へ引っ越し", MOVED),
    ("に移住", MOVED),
    ("へ移住", MOVED),
    ("から引っ越し", LEFT),
    ("から来", ORIGIN),
    ("出身", ORIGIN),
    ("でライブ", TOUR),
    ("公演", TOUR),
    ("ツアー", TOUR),
    ("에 살았", LEFT),
    ("에서 살았", LEFT),
    ("에 살고", RESIDENCE),
    ("에 살아", RESIDENCE),
    ("에 삽니다", RESIDENCE),
    ("에 살며", RESIDENCE),
    ("에서 살고", RESIDENCE),
    ("에서 살아", RESIDENCE),
    ("에 거주", RESIDENCE),
    ("에서 거주", RESIDENCE),
    ("에 있어", PRESENT),
    ("에 있습니다", PRESENT),
    ("에 있는", PRESENT),
    ("에서 지내", RESIDENCE),
    ("에서 활동", BASED),
    ("으로 이사", MOVED),
    ("로 이사", MOVED),
    ("에서 이사", LEFT),
    ("에서 왔", ORIGIN),
    ("출신", ORIGIN),
    ("에서 공연", TOUR),
    ("투어", TOUR),
    ("공연", TOUR),
];

/// Cues before a CJK place.
const CJK_PREFIX: &[(&str, EvidenceKind)] = &[
    ("以前住在", LEFT),
    ("之前住在", LEFT),
    ("曾经住在", LEFT),
    ("居住在", RESIDENCE),
    ("生活在", RESIDENCE),
    ("定居在", RESIDENCE),
    ("住在", RESIDENCE),
    ("住喺", RESIDENCE),
    ("住係", RESIDENCE),
    ("现住", RESIDENCE),
    ("現住", RESIDENCE),
    ("现居", RESIDENCE),
    ("現居", RESIDENCE),
    ("目前在", PRESENT),
    ("现在在", PRESENT),
    ("現在在", PRESENT),
    ("我在", PRESENT),
    ("我们在", PRESENT),
    ("人在", PRESENT),
    ("搬到", MOVED),
    ("搬去", MOVED),
    ("移居", MOVED),
    ("移民到", MOVED),
    ("移民去", MOVED),
    ("搬咗去", MOVED),
    ("来自", ORIGIN),
    ("來自", ORIGIN),
    ("巡演", TOUR),
    ("巡迴", TOUR),
    ("去了", TOUR),
];

fn cjk_statements(line: &str, out: &mut Vec<Statement>) {
    if line.is_ascii() {
        return;
    }
    for (place, (idx, len)) in places::cjk_places(line) {
        let before = &line[..idx];
        let after = line[idx + len..].trim_start_matches(['市', '都', '府', '県', '道']);
        // "베를린에서 3년째 살고": a duration between the place and the verb.
        let without_duration = korean_without_duration(after);
        // "札幌でシンガーをしています": working as something somewhere.
        let works_there = after.starts_with('で') && {
            let sentence = after.split(['。', '！', '？', '\n']).next().unwrap_or("");
            [
                "しています",
                "してます",
                "やっています",
                "やってます",
                "働いて",
            ]
            .iter()
            .any(|v| sentence.contains(v))
        };
        let kind = CJK_SUFFIX
            .iter()
            .find(|(s, _)| after.starts_with(s) || without_duration.starts_with(s))
            .or(works_there.then_some(&("で", BASED)))
            .or_else(|| CJK_PREFIX.iter().find(|(p, _)| before.ends_with(p)))
            .map(|(_, k)| *k);
        if let Some(kind) = kind {
            let from = before.char_indices().rev().nth(3).map_or(0, |(i, _)| i);
            let to = after
                .char_indices()
                .nth(8)
                .map_or(line.len(), |(i, _)| line.len() - after.len() + i);
            let note = note_for(kind);
            out.push(Statement {
                kind,
                shares: place.shares,
                text: clip(line.get(from..to).unwrap_or(line)),
                note,
            });
        }
    }
    // A romanised name before a CJK cue ("tokyo在住", "LA在住", "서울").
    let mut seen: Vec<usize> = Vec::new();
    for (suffix, kind) in CJK_SUFFIX {
        for (j, _) in line.match_indices(suffix) {
            if seen.contains(&j) {
                continue;
            }
            seen.push(j);
            let before = &line[..j];
            let run_start = before
                .char_indices()
                .rev()
                .take_while(|(_, c)| c.is_ascii_alphabetic() || *c == ' ' || *c == '.')
                .last()
                .map_or(j, |(i, _)| i);
            let name = before[run_start..].trim();
            if name.len() < 2 {
                continue;
            }
            let tokens = text::tokenize(name);
            if let Some((place, n)) = places::match_at(&tokens, 0)
                && n == tokens.len()
                && (place.flags & flag::COMMON == 0 || place.size >= 100_000.0)
            {
                out.push(Statement {
                    kind: *kind,
                    shares: place.shares,
                    text: clip(&line[run_start..(j + suffix.len()).min(line.len())]),
                    note: note_for(*kind),
                });
            }
        }
    }
}

/// Phrases of a message written for someone else (a manager, a partner,
/// a bandmate), folded.
const ON_BEHALF: &[&str] = &[
    "writing for",
    "writing on behalf of",
    "writing about my",
    "writing about our",
    "one of our members",
    "i manage",
    "escribo por",
    "escribo de parte de",
    "escrevo pelo",
    "escrevo pela",
    "escrevo em nome",
    "schreibe fur",
    "schreibe aber fur",
    "ich manage",
    "j ecris pour",
    "j ecris de la part",
    "scrivo per",
    "ik schrijf voor",
    "jag skriver for",
];

/// Third-person cues ("he lives in", "vive en") that name where the person
/// the message is about lives, folded.
const THIRD_PERSON: &[&str] = &[
    "lives in", "vive en", "vive em", "vive na", "vive no", "vit a", "vive a", "woont in",
    "wohnt in", "lebt in",
];

/// In a message written for someone else, where that person lives is the
/// case's place: third-person residence cues count as residence.
fn on_behalf(text: &str, out: &mut [Statement]) {
    let folded = text::fold(text).replace(['\'', '’'], " ");
    let folded = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    if !ON_BEHALF.iter().any(|p| folded.contains(p)) {
        return;
    }
    for s in out.iter_mut() {
        let snip = text::fold(&s.text);
        if s.kind == WEAK && THIRD_PERSON.iter().any(|c| snip.starts_with(c)) {
            s.kind = RESIDENCE;
            s.note = Some("where the person this is written for lives".into());
        }
    }
}

/// "I live here (still)" after a place: that place is home.
const HERE: &[&str] = &[
    "live here",
    "living here",
    "still live there",
    "live there",
    "vivo aqui",
    "moro aqui",
    "wohne hier",
    "wohne auch da",
    "wohne auch dort",
    "j habite ici",
    "woon hier",
    "bor har",
    "abito qui",
    "vivo qui",
    "عايش فيها",
    "ساكن فيها",
    "أعيش فيها",
    "اعيش فيها",
];

/// Adds a residence for the place named last before a "live here" (a
/// rapper "from Laval, Quebec. I live here still."). Not for a tour stop:
/// a seasonal place is where care happens only when the writer says so.
fn lives_here(text: &str, out: &mut Vec<Statement>) {
    let folded = format!(
        " {} ",
        text::fold(text).replace(['.', ',', '!', '?', ';', '\n'], " ")
    );
    let folded = folded.split_whitespace().collect::<Vec<_>>().join(" ");
    let Some(at) = HERE.iter().filter_map(|h| folded.find(h)).min() else {
        return;
    };
    let before = &folded[..at];
    let last = out
        .iter()
        .filter(|s| !matches!(s.kind, EvidenceKind::Left | EvidenceKind::Tour))
        .filter_map(|s| {
            let snip = text::fold(&s.text).replace(['.', ',', '!', '?', ';', '\n'], " ");
            let snip = snip.split_whitespace().collect::<Vec<_>>().join(" ");
            before.rfind(&snip).map(|p| (p, s))
        })
        .max_by_key(|(p, _)| *p)
        .map(|(_, s)| s.clone());
    if let Some(s) = last
        && s.kind != RESIDENCE
    {
        out.push(Statement {
            kind: RESIDENCE,
            shares: s.shares,
            text: clip(&format!("{} … live here", s.text)),
            note: None,
        });
    }
}

/// `after` with a Korean duration after its particle dropped ("에서 3년째
/// 살고" → "에서 살고"), or unchanged.
fn korean_without_duration(after: &str) -> String {
    for particle in ["에서 ", "에 "] {
        let Some(rest) = after.strip_prefix(particle) else {
            continue;
        };
        let digits = rest.trim_start_matches(|c: char| c.is_ascii_digit());
        if digits.len() == rest.len() {
            continue;
        }
        for unit in ["년째 ", "년 동안 ", "년 넘게 ", "년 ", "개월째 ", "개월 "] {
            if let Some(verb) = digits.strip_prefix(unit) {
                return format!("{particle}{verb}");
            }
        }
    }
    after.to_string()
}

/// Every statement about places in the subject and the (already unquoted)
/// body.
pub(super) fn findings(subject: &str, body: &str) -> Vec<Finding> {
    // The subject is line 0; a "." line keeps cues from running into the body.
    let combined = format!("{subject}\n.\n{body}");
    let mut out = Vec::new();
    let tokens = text::tokenize(&combined);
    cue_statements(&combined, &tokens, &mut out);
    on_behalf(&combined, &mut out);
    lives_here(&combined, &mut out);
    post_cue_statements(&combined, &tokens, &mut out);
    for line in combined.lines() {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            continue;
        }
        if let Some(s) = label_statement(trimmed) {
            out.push(s);
        } else if let Some(s) = signature_statement(trimmed) {
            out.push(s);
        }
        cjk_statements(trimmed, &mut out);
    }
    out.into_iter()
        .map(|s| Finding {
            kind: s.kind,
            shares: s.shares,
            text: s.text,
            note: s.note,
        })
        .collect()
}
