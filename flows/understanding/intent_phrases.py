"""The English and Danish phrases each intent is read from, in the order they are tried (first wins).

Each group is one intent's phrases, separated by ";" or new lines. A phrase is a regex fragment over
cleaned text (see `intents.clean`): a space stands for any run of non-word characters, æ/ø/å also match
ae/oe/aa and e/o/a, and {name} is one of the word sets in SETS. A `whole` group must be the whole message
("k", "stop"); `weak` hints give way to clearer requests; `negatable=False` phrases already carry their
own negation ("not sure", "kan ikke komme") or are answers that a "not" before them does not undo.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Group:
    """Phrases for one intent (None: phrases that mean nothing here and only hide their words)."""

    intent: str | None
    phrases: tuple[str, ...]
    whole: bool = False
    negatable: bool = True
    weak: bool = False


SETS = {
    "appointment": r"(?:appointments?|appts?|bookings?|reservations?|sessions?|visits?|slots?|time)",
    "my": r"(?:my|our|the|this|that|it|it's)",
    "da_appointment": r"(?:tid|tiden|tider|tiderne|booking|bookingen|bookinger|aftale|aftalen|aftaler)",
    "da_my": r"(?:min|mine|vores|den|det|tiden|denne)",
    "staff": r"(?:someone|somebody|anyone|anybody|staff|person|human|people|receptionist|reception|manager"
    r"|owner|therapist|employee|agent|operator)",
    "da_staff": r"(?:en|et|nogen|nogle|personalet|receptionen|jer|ejeren|behandleren|terapeuten)",
    "real": r"(?:real |live |actual )?",
    "stop_doing": r"(?:messaging|texting|sending|contacting|writing|spamming|bothering|emailing|calling)",
    "opt_out": r"(?:stop|stopp|unsubscribe|opt out|optout|afmeld|afmeld mig|frameld|frameld mig)",
    "thank": r"(?:thanks|thank you|thank u|thx|ty)",
    "slot": r"(?: one| time| slot| appointment| possible| available)",
}


def _g(intent: str | None, text: str, **options: bool) -> Group:
    phrases = (p.strip() for line in text.strip().splitlines() for p in line.split(";"))
    return Group(intent, tuple(p.format_map(SETS) for p in phrases if p), **options)


# Unknown-looking words that are real words, never to be "corrected" into a keyword.
NOT_MISSPELT = frozenset(("cancer", "flotte", "bestilte", "booked", "bookede", "hellos", "thanksgiving"))

GROUPS: tuple[Group, ...] = (
    # Phrases that look like an answer or a request but are neither.
    _g(None, r"""
        not sure ; (?:are|r) (?:you|u) sure ; make sure ; for sure\? ; do not know ; dunno ; no idea
        maybe ; perhaps ; (?:is|would|will) (?:it|that|this) (?:be )?(?:ok|okay|fine|alright)
        (?:ok|okay|fine|alright) (?:if|to) ; no matter ; whatever ; no need ; ingen grund til
        (?:running|will be|i am) (?:a bit )?late ; kommer (?:lidt |en smule )?(?:for sent|senere)
        ikke sikker ; (?:ved|aner) (?:det )?ikke ; ingen anelse ; måske ; muligvis
        (?:er|bliver) (?:det|du) (?:ok|okay|fint|i orden|sikker) ; (?:ok|okay|fint) hvis
    """, negatable=False),
    # Polite answers: "yes please" and "nej tak" are a yes and a no, not thanks.
    _g("no", r"""
        (?:no|nope|nah) {thank}(?: anyway)? ; nej (?:tak|ellers tak|tusind tak|mange tak) ; ellers tak
    """, negatable=False),
    _g("yes", r"""
        (?:yes|yeah|yep|ok|okay|sure) (?:please|pls|plz|{thank})
        (?:ja|jo|jep|ok|okay|gerne) (?:tak|gerne|please|tusind tak|mange tak)
        no (?:problem|problemo|worries|prob) ; (?:intet|ikke noget) problem ; ingen problemer?
        det er ikke noget problem
    """, negatable=False),
    _g("thanks", r"""
        {thank} (?:so much |very much |a lot )?for (?:all )?(?:your|the) help
        (?:tak|mange tak|tusind tak) for (?:din |jeres )?hjælpen?
    """),
    # Opting out: a whole "stop", or an unmistakable request to stop messages.
    _g("stop", r"(?:please )?{opt_out}(?: (?:it|now|please|pls|this|det|nu|tak|mig))*", whole=True),
    _g("stop", r"""
        stop {stop_doing}(?: me| us)? ; (?:do not|never) (?:message|text|contact|write to|spam) (?:me|us)
        no more (?:messages|texts|reminders) ; unsubscribe ; opt me out ; leave me alone ; remove me from
        stop (?:med at|at) (?:skrive|sende|kontakte) ; stop (?:med )?beskeder
        (?:skriv|send) ikke (?:mere |flere )?(?:til mig|beskeder) ; ingen flere (?:beskeder|sms'?er)
        afmeld (?:mig|beskeder|nyhedsbrev|sms|påmindelser) ; frameld(?: mig)? ; lad mig være(?: i fred)?
        jeg vil ikke have (?:flere |mere )?(?:beskeder|sms)
    """, negatable=False),
    # Opting back in after a stop: a whole "start", or asking for the reminders again.
    _g("opt_in", r"(?:please )?(?:start|unstop|resume|tilmeld(?: mig)?)(?: (?:please|tak))?",
       whole=True),
    _g("opt_in", r"""
        (?:start|resume|turn on|send me) (?:the )?(?:reminders|messages) (?:again|back on)?
        (?:start|send|slå) (?:påmindelser|beskeder)(?: til)? igen ; tilmeld (?:mig )?(?:påmindelser|beskeder)
    """, negatable=False),
    _g("talk_to_person", r"""
        (?:talk|speak|chat|get through) (?:to|with) (?:a |an |the |your |some )?{real}{staff}
        (?:real|live|actual) (?:person|human|people|agent) ; humans? ; agent ; operator ; receptionist
        representative ; customer (?:service|support) ; (?:a|another) person
        call me (?:back|please|asap|today|tomorrow|later|when|at|on) ; (?:give|ring|phone) me a (?:call|ring)
        ring me ; phone me ; (?:can|could|will) (?:you|someone|somebody) (?:call|phone|ring)
        not (?:a|an) (?:bot|robot|machine)
        menneske[rt]? ; medarbejder(?:e|en|ne)? ; personalet ; receptionen
        (?:tale|snakke|tal|snak|skrive|chatte) (?:med|til) {da_staff}(?: (?:rigtig )?(?:person|menneske))?
        (?:en )?(?:rigtig|levende|ægte) person ; ring(?:e)? (?:til )?mig(?: op)?
        (?:kan|vil) (?:i|du|nogen) ringe
        få fat (?:i|på) (?:en|nogen|jer|et) ; ikke (?:en |et )?(?:bot|robot|maskine)
    """),
    _g("talk_to_person", r"(?:a )?person(?: please| tak)? ; staff ; call me", whole=True),
    _g("start_over", r"""
        start(?:ing)? (?:over|again|afresh|from scratch|from the (?:beginning|start|top)) ; restart ; reset
        begin again ; go back to (?:the )?(?:start|beginning|menu) ; back to (?:the )?(?:start|menu)
        (?:main )?menu ; start (?:forfra|om|igen|fra start|fra begyndelsen) ; forfra ; begynd igen
        genstart ; nulstil ; tilbage til (?:start|starten|menuen|begyndelsen) ; hovedmenu(?:en)?
    """),
    # Saying you will not come: an answer (NO) that brings its own negation.
    _g("no", r"""
        (?:can|could|will|would|do|am|shall) not (?:be able to )?(?:come|make it|attend|be there|go)
        not (?:coming|able to come|going to make it|going to come|attending)
        (?:does|do|will|would|is|that is) not (?:work|suit|fit)(?: for me| for us)?
        not (?:ok|okay|good|fine|right|correct|really) ; unfortunately not ; (?:i would )?rather not
        (?:kan|kunne) (?:desværre )?ikke (?:komme|nå det|nå|deltage|møde op)
        (?:jeg |vi )?kommer (?:desværre )?ikke
        (?:det )?(?:passer|går|duer|virker) (?:mig |os )?(?:desværre )?ikke
        ikke (?:ok|okay|godt|fint|i orden|rigtigt|korrekt) ; desværre ikke ; hellere (?:lade )?være
        helst ikke ; når det ikke
    """, negatable=False),
    _g("cancel", r"""
        cancel(?:l?ed|l?ing|lation|s)? ; call (?:it |this )?off
        (?:delete|remove|drop|scrap) {my} {appointment} ; (?:delete|remove|drop|scrap) (?:it|that)
        no longer (?:need|want|require) (?:{my} )?(?:{appointment}|it)
        (?:do|will) not need (?:{my} )?(?:{appointment}|it) any ?more
        aflys(?:e|er|es|t|te|ning|ningen)? ; afbestil(?:le|ler|les|t|te|ling|lingen)?
        annull?er(?:e|er|es|et|ing)? ; slet(?:te)? {da_my} {da_appointment}
        afmeld(?:e|er)? {da_my}(?: {da_appointment})? ; drop(?:pe)? {da_my}(?: {da_appointment})?
        (?:har|behøver) ikke (?:brug for|at komme til) {da_my}(?: {da_appointment})?
        skal ikke bruge (?:tiden|min tid|den)
    """),
    _g("reschedule", r"""
        re-?schedul(?:e|ed|ing) ; re-?book(?:ing)? ; re-?arrange ; postpone ; push (?:it|that|this) back
        push {my} {appointment} back ; mov(?:e|ing) (?:{my}|{appointment}|me|up|forward)
        chang(?:e|ing) {my} (?:{appointment}|date|day|hour) ; (?:switch|swap) {my} {appointment}
        chang(?:e|ing) (?:it|that|this) to ; flyt(?:te|ter|tet|tes)? ; ryk(?:ke|ker|ket|kes)?
        ombook(?:e|er|et)? ; udskyd(?:e|er)? ; udsæt(?:te|ter)?
        ændr(?:e|er|ing) (?:på )?(?:{da_my} )?(?:{da_appointment}|dato|dag|tidspunkt)
        (?:skifte|bytte) (?:{da_my} )?(?:{da_appointment}|dag)
    """),
    _g("my_appointments", r"""
        (?:when|what time|what day|which day|where) (?:is|are|was|were) (?:my|our) (?:next )?{appointment}
        when (?:am|do|should|shall) i (?:booked|have|come|coming|supposed|meant|need|be there)
        (?:show|see|check|list|view|find|look up|remind me of|get) (?:me )?(?:my|our) (?:next )?{appointment}
        do i have (?:an|any|a) {appointment} ; (?:what|which) {appointment} do i have
        what (?:did|have) i booked? ; am i booked ; my (?:next |upcoming )?{appointment}s
        upcoming {appointment} ; hvornår (?:er|var) (?:min|mine|vores)
        hvornår har (?:jeg|vi) (?:min|mine|vores|en tid|tid) ; hvornår skal (?:jeg|vi) (?:komme|møde|være der)
        hvad tid (?:er|har jeg) (?:min|mine|jeg) ; hvilken (?:dag|tid|dato) (?:er|har) (?:min|mine|jeg)
        (?:mine|vores) (?:tider|bookinger|aftaler|reservationer)
        har (?:jeg|vi) (?:en|nogen|nogle) (?:{da_appointment}|booket)
        (?:se|tjekke|tjek|vis|finde|find) (?:mig )?(?:min|mine) {da_appointment} ; hvad har (?:jeg|vi) booket
    """),
    _g("my_appointments", r"(?:my|min|mine) {appointment} ; (?:min|mine) {da_appointment}", whole=True),
    _g("first_available", r"""
        (?:first|next) (?:available|possible|free|open|opening|ledige|mulige){slot}?
        earliest(?! (?:at|on|from|after|by|kl|\d)){slot}?
        soonest(?: possible)? ; as soon as possible ; asap ; whenever is (?:soonest|first|earliest)
        første (?:ledige|mulige|frie)(?: tid| tidspunkt)? ; først(?:e)? mulige?(?: tid)?
        hurtigst(?:e|muligt)?(?: muligt| mulig| mulige)? ; snarest(?: muligt)?
        så (?:hurtigt|snart|tidligt) som muligt ; tidligst(?:e)? mulig(?:e|t)?
        næste ledige(?: tid| tidspunkt)? ; første tid
    """),
    _g("other_time", r"""
        (?:an|any|some)?other (?:time|times|day|days|date|dates|slot|slots|option|options|hour)
        different (?:time|times|day|days|date|slot|slots|hour) ; something (?:later|earlier|else)
        (?:a bit|a little|bit) (?:later|earlier)
        (?:later|earlier) (?:time|slot|one|ones|in the day|that day|today)
        none of (?:these|those|them|the (?:times|options|slots)) ; neither(?: of (?:these|those|them))?
        not (?:these|those|any of (?:these|those|them)) ; (?:more|other) (?:options|times|slots|days)
        show (?:me )?more ; what else (?:do you have|is there|have you got) ; anything (?:else|later|earlier)
        (?:en |et )?(?:anden|andet) (?:tid|dag|dato|tidspunkt) ; andre (?:tider|dage|tidspunkter|muligheder)
        noget (?:senere|tidligere|andet) ; (?:lidt|en) (?:senere|tidligere)
        (?:senere|tidligere) (?:tid|tidspunkt|på dagen) ; ingen af (?:dem|disse|de|tiderne|tidspunkterne)
        hverken ; flere (?:tider|muligheder|tidspunkter) ; vis (?:mig )?flere
        (?:har|findes) (?:i|du|der) (?:ikke )?(?:andre|flere|noget andet)
    """),
    _g("other_time", r"later ; earlier ; senere ; tidligere ; other ; others ; andre ; neither ; none",
       whole=True),
    _g("book", r"""
        book(?:e|er)?(?: in)? ; booking (?:a|an|for|in)
        make (?:a|an) (?:appointment|appt|booking|reservation) ; schedule (?:a|an|me|in|one|some)
        (?:to|want to|like to|can i|could i|can we) schedule ; reserve ; reservation for
        (?:get|grab) (?:a|an) (?:appointment|appt|slot|time|massage|session|treatment)
        do you have (?:any |a )?(?:time|times|availability|openings?|slots?|space|room|appointments)
        (?:any|free|open) (?:availability|openings|slots|times|appointments) ; bestil(?:le|ler|ling)?
        reserver(?:e|er)? ; (?:vil|ville|kunne) (?:gerne|godt) (?:have|få|komme|booke)
        gerne have (?:en|et) ; har (?:i|du|de) (?:en |nogen |noget )?(?:ledig|ledige|tid|tider|plads)
    """),
    _g("book", r"""
        (?:a|an|new|another) (?:appointment|appt|booking|session) ; appointment for
        (?:can|could|may) (?:i|we) (?:come in|come by|come|get a|get an|have a|have an)
        (?:want|would like|need|wanna|looking for|interested in) (?:a|an|to get|to have|some|to come in)
        (?:en|ny) (?:tid|aftale|booking) ; ledige (?:tider|tidspunkter) ; kan (?:jeg|vi) komme
        (?:kan|må) (?:jeg|vi) få (?:en|et|tid|noget) ; booking
    """, weak=True),
    _g("yes", r"""
        yes ; yeah ; yea ; yah ; yep ; yup ; ok ; okay ; okey ; okie ; sure ; surely ; certainly
        absolutely ; definitely ; of course ; sounds (?:good|great|perfect|fine|lovely|ok|okay)
        (?:that|this|it) (?:works|suits) ; (?:that|this|it) is (?:fine|good|perfect|great|ok|okay)
        works for me ; fine by me ; perfect ; great ; excellent ; awesome ; alright ; all right ; correct
        that is (?:right|correct) ; confirm(?:ed|ing)? ; (?:i will|i shall|will|ill) (?:be there|come|attend)
        i am (?:coming|in) ; see you(?: then| there| tomorrow| soon)? ; count me in ; let us do (?:it|that)
        go ahead ; go for it ; please do ; agreed ; lovely ; (?:i|we) can (?:make it|come|be there)
        ja ; jah ; jep ; jeps ; jepper ; javel ; jamen ja ; okej ; fint ; fedt ; super ; perfekt ; klart
        selvfølgelig ; selvf ; det er (?:godt|fint|perfekt|super) ; helt sikkert ; korrekt
        (?:det er )?rigtigt ; det passer(?: fint| godt| mig| perfekt)? ; passer (?:fint|godt|perfekt|mig)
        (?:det )?lyder (?:godt|fint|perfekt|super) ; det er en aftale ; (?:jeg|vi) kommer ; vi ses
        bekræft(?:er|et|e)? ; kør (?:bare )?på ; lad os (?:gøre det|det) ; (?:det er )?i orden
    """),
    _g("yes", r"y ; k ; kk ; jo ; ses ; right ; deal ; gerne ; godt ; yes+ ; ja+", whole=True),
    _g("no", r"""
        no ; nope ; nah ; nay ; negative ; no way ; wrong ; incorrect ; nej ; næ ; næh ; nix ; niks ; forkert
    """, negatable=False),
    _g("no", r"n ; ikke ; not really ; not now ; ikke nu ; kan ikke", whole=True, negatable=False),
    _g("help", r"""
        help ; hjælp ; what can you do ; how does (?:this|it) work ; i do not understand ; confused
        what (?:are|is) (?:my|the) options ; what (?:should|do) i (?:do|write|type|say)
        hvad kan (?:du|jeg) ; hvordan virker (?:det|du|det her) ; (?:jeg )?forstår ikke
        hvad skal jeg (?:gøre|skrive|svare)
    """),
    _g("help", r"options ; valgmuligheder ; info ; information", whole=True),
    _g("greeting", r"""
        hi ; hello ; hey ; heya ; hiya ; howdy ; greetings ; good (?:morning|afternoon|evening|day)
        hej(?:sa| med dig| hej)? ; halløj ; hallo ; goddag ; godmorgen ; god (?:morgen|dag|eftermiddag|aften)
        davs? ; mojn
    """, negatable=False),
    _g("greeting", r"morning ; evening ; afternoon", whole=True, negatable=False),
    _g("thanks", r"""
        thanks ; thank you ; thank u ; thx ; thnx ; tnx ; tysm ; cheers ; much appreciated ; appreciate it
        many thanks ; tak ; takker ; tusind tak ; mange tak ; tak skal (?:du|i) have
    """, negatable=False),
    _g("thanks", r"ty ; tq", whole=True, negatable=False),
)  # fmt: skip
