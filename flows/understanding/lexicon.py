"""Everyday English and Danish chat words: what tells the languages apart, and what is never a name."""

from __future__ import annotations

from flows.understanding.normalise import danish_ascii


def word_set(text: str) -> frozenset[str]:
    """The words of a space-separated list, as a set."""
    return frozenset(text.split())


# Words a booking chat is made of. A word in both lists tells nothing about the language.
ENGLISH = word_set("""
    the an and is are am was were be been being have has had do does did done you your yours we our us they
    them their he she him her it its this that these those what whats when where who why how which can could
    would should will shall might must not no yes yeah yep yup nope nah please pls plz thanks thank thx ty
    hello with from about like want wanted wants need needs get got make book appointment appointments time
    times today tomorrow tonight morning afternoon evening night week day days next last after before later
    earlier soon now then there here just only also too very really much many more some any all my me i'm im
    it's don't dont can't cant won't wont didn't doesn't isn't available free slot slots cancel move change
    reschedule monday tuesday wednesday thursday friday saturday sunday january february march june july
    october o'clock on of to or but if so because again still already sure good great fine perfect awesome
    sounds works work come coming go going see know think help speak talk english danish person human name
    first earliest soonest another other different none neither cheers bye goodbye noon midnight half past
    quarter month year looking possible someone somebody anyone something anything nothing let's let that's
    there's i'll i'd i've you're we're they're ok okay sorry nice cool problem worries fine thing said say
    tell told ask asked mean sent send message minute minutes hour hours early late clinic salon treatment
    session booked cancelled moved changed yesterday which wait right wrong correct exactly actually maybe
    perhaps instead either both each every than way well by up down out off into over under between again
    alright absolutely definitely course agent staff call back show use told am pm by over unsubscribe
    confirm restart reset start
""")

DANISH = word_set("""
    jeg du han hun vi de dig mig os jer dem min mit mine din dit dine hendes vores deres er var har havde være
    været blive bliver blev kan kunne vil ville skal skulle må måtte gerne godt ikke ja nej tak hej hejsa
    halløj hallo og eller men også meget mange mere mest lidt nogen noget nogle ingen intet alle hvad hvem
    hvor hvornår hvordan hvorfor hvilken hvilket hvilke hvis der det den en et til fra med om på af ved efter
    før inden i morgen dag idag imorgen overmorgen aften eftermiddag formiddag nat uge mandag tirsdag onsdag
    torsdag fredag lørdag søndag januar februar marts maj juni juli oktober kl klokken halv kvart tid tider
    tiden tidspunkt ledig ledige bestille bestil booke aflys aflyse afbestille flytte flyt ændre hjælp tale
    snakke skrive dansk engelsk tusind fint fedt perfekt selvfølgelig klart måske sikker vide forstår
    godmorgen goddag venlig hilsen mvh kommer komme ses lige bare så nu her da når jo nok vel allerede
    stadig igen gang takker undskyld desværre behandling tidlig tidligere senere første næste sidste anden
    andet andre hurtigst muligt mulig bedst passer går gå få se sige siger tror synes have hedder navn nå
    altså jamen javel nix næ gør gøre ring ringe person menneske medarbejder frisør tandlæge klinikken
    aftale aftalen bookingen ønsker ønske også sådan sted hjem hjemme arbejde skriver skrev fik kom fandt
    lyder rigtigt forkert korrekt bekræft bekræfter tilbage forfra start kvarter time timer minutter
    afmeld afmelde frameld afbestil afbestilling aflysning bestilling ombooke
""")

SHARED = ENGLISH & DANISH

# Words common in both languages' chat that tell nothing: loanwords, numbers-as-words, interjections.
NEUTRAL = word_set("i ok okay super booking massage weekend hey sms mail email online cool april august stop")

# Words worth less than a full word: a Danish client may write "sorry", "book" or "nice" too.
WEAK = {"en": word_set("a hi book sorry nice bad hey"), "da": word_set("min mine men god man")}

# Danish words also written without æ/ø/å ("hvornaar", "hjaelp", "foer"), except where that spells English.
DANISH_SPELLINGS = frozenset(
    spelling
    for word in DANISH
    for spelling in (word, danish_ascii(word))
    if spelling == word or spelling not in ENGLISH
)

# Given names that are also everyday words: never rejected as "not a name" when written with a capital.
NAME_WORDS = word_set("""
    hans dag per bo mark will bill rose hope may june ask sten finn max ben jack grace joy faith eve
""")

# Answers and time words that are never a client's name, whatever their case.
NEVER_NAMES = word_set("""
    yes no ok okay yep nope sure maybe thanks thank tak ja nej jo hello hi hey hej hejsa tomorrow today
    tonight morgen idag imorgen monday tuesday wednesday thursday friday saturday sunday mandag tirsdag
    onsdag torsdag fredag lørdag søndag stop help hjælp cancel aflys book booke bestil massage test
    unknown anonymous nothing none nobody ingen intet hvad what why who name navn
""")
