"""Runs one client turn: read what they meant, pick the job (booking, rescheduling, cancelling,
reconfirming, a person), fire that job's machine, collect its replies.

What works in every state lives here, not in each machine: "start over", "help", "talk to a person",
"stop", a language switch, and what happens after turns the bot cannot understand.

Building a python-statemachine machine costs more than running it, so machines are pooled per flow and
business; all state lives on the conversation record, bound to the machine for the one turn and saved
back by the caller in the same transaction. Nothing about a conversation stays in the machine.
"""

from __future__ import annotations

import inspect
import logging
import re
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from flows import business_texts, formatting
from flows.answers import hours_answer, hours_lines, prices_answer
from flows.availability import closed_until
from flows.booking import BookingFlow
from flows.cancelling import CancellingFlow
from flows.context import BusinessProfile, Turn
from flows.desk import Desk
from flows.flow import Flow, TurnContext
from flows.handoff import HandoffFlow
from flows.heard import LINK_NO, LINK_YES, Heard, understand
from flows.messages import Option, Reply
from flows.reconfirming import ReconfirmingFlow
from flows.rescheduling import ReschedulingFlow
from flows.texts import say
from flows.understanding.intents import Intent
from flows.understanding.normalise import fold
from flows.understanding.questions import Asked, read_question

log = logging.getLogger(__name__)

FLOWS: dict[str, type[Flow]] = {
    "booking": BookingFlow,
    "rescheduling": ReschedulingFlow,
    "cancelling": CancellingFlow,
    "reconfirming": ReconfirmingFlow,
    "handoff": HandoffFlow,
}
DEFAULT_FLOW = "booking"
JOBS = {
    Intent.BOOK: "booking",
    Intent.RESCHEDULE: "rescheduling",
    Intent.CANCEL: "cancelling",
}
# Slots that belong to the conversation, not to one job: kept when a job starts.
KEPT = ("greeted", "reminded", "stopped", "paused", "away_said")
# What a booking under way has gathered: kept aside during a side trip (say, cancelling), then resumed.
BOOKING_SLOTS = ("service", "start", "wanted", "day", "at", "part", "name", "phone", "with", "practitioner")
# Words that say "I'm coming" (not just "ok"): they reconfirm a booked appointment even without a reminder.
COMING = re.compile(
    r"\b(i'?m coming|i am coming|i'?ll be there|i will be there|i'?ll come|i will come|"
    r"jeg kommer|vi kommer|jeg skal nok komme|jeg er der)\b"
)
_PUNCTUATION = re.compile(r"[^\w\s]")
# How long a WhatsApp client has to answer "is that you?" before the question lapses.
LINK_REQUEST_LIFE = timedelta(hours=24)
# Misunderstood turns in a row: the first gets the question again, this many get choices, one more a person.
OFFER_CHOICES_AFTER = 2


def initial_state(flow: str = DEFAULT_FLOW) -> str:
    return str(FLOWS[flow].initial_state.id)


class _Bound:
    """The machine's model: forwards every attribute to the conversation being handled right now."""

    __slots__ = ("_record",)

    def __init__(self, record: Any) -> None:
        object.__setattr__(self, "_record", record)

    def __getattr__(self, name: str) -> Any:
        return getattr(object.__getattribute__(self, "_record"), name)

    def __setattr__(self, name: str, value: Any) -> None:
        setattr(object.__getattribute__(self, "_record"), name, value)

    def bind(self, record: Any) -> None:
        object.__setattr__(self, "_record", record)


class _Blank:
    """What a pooled machine is built on before it first meets a conversation."""

    def __init__(self, flow: str) -> None:
        self.flow, self.state, self.locale = flow, initial_state(flow), "en"
        self.slots: dict[str, Any] = {}
        self.misunderstood, self.needs_staff, self.client_name = 0, False, None


class Engine:
    def __init__(self) -> None:
        self._idle: dict[tuple[str, str], list[Flow]] = {}

    async def respond(
        self, conversation: Any, business: BusinessProfile, turn: Turn, desk: Desk
    ) -> list[Reply]:
        """Handle the client's turn; the conversation's new state lands on `conversation`."""
        turn = _typed_choice(turn, conversation.slots or {})
        heard = understand(turn, business, desk.local_now)
        ctx = TurnContext(heard=heard, desk=desk, business=business)
        if conversation.slots is None:
            conversation.slots = {}
        if conversation.flow not in FLOWS or conversation.state not in FLOWS[conversation.flow].states_map:
            # A flow or state from an older release: start afresh rather than get stuck.
            self._start(conversation, DEFAULT_FLOW)
        switched = await self._language(conversation, heard, desk)
        await self._route(conversation, ctx, switched)
        # What was asked last, before greetings and notes go on top (after a side question: the question).
        asked_last = ctx.found.pop("asked_again", None) or (ctx.replies[-1] if ctx.replies else None)
        for line in reversed(ctx.found.pop("before", [])):
            _prepend(ctx, line)
        if heard.clipped and ctx.replies:
            _prepend(ctx, say(conversation.locale, "read_in_part"))
        await self._say_away(conversation, ctx, turn)
        await self._greet_first_time(conversation, ctx, turn)
        _remember_options(conversation, ctx.replies, asked_last)
        return ctx.replies

    # ------------------------------------------------------------------------------------- routing

    async def _route(self, conversation: Any, ctx: TurnContext, switched: bool) -> None:
        heard = ctx.heard
        if heard.unreadable:
            self._say(conversation, ctx, "cannot_read")
            return
        if await self._link_answer(conversation, ctx):
            return
        if heard.says(Intent.START_OVER):
            self._start(conversation, DEFAULT_FLOW, fresh=True)
        elif heard.says(Intent.TALK_TO_PERSON):
            self._hand_to_person(conversation, ctx)
            return
        elif heard.says(Intent.HELP) and not heard.choice:
            self._offer_menu(conversation, ctx, "help")
            return
        elif heard.says(Intent.STOP):
            # No reminders or notices on this channel until "start"; when they write, they are answered as
            # anyone would be.
            self._start(conversation, DEFAULT_FLOW, fresh=True)
            conversation.slots = {**conversation.slots, "stopped": True}
            await ctx.desk.opt_out(True)
            self._say(conversation, ctx, "stopped")
            return
        elif heard.says(Intent.OPT_IN) and not heard.choice:
            conversation.slots = {k: v for k, v in conversation.slots.items() if k != "stopped"}
            await ctx.desk.opt_out(False)
            self._say(conversation, ctx, "started")
            return
        elif heard.says(Intent.MY_APPOINTMENTS):
            await self._list_appointments(conversation, ctx)
            return
        elif heard.late is not None and not heard.choice:
            await self._running_late(conversation, ctx)
            return
        asked = (
            None
            if heard.choice
            else read_question(
                heard.text, ctx.business.answers_on(ctx.desk.channel), heard.services, builtins=False
            )
        )
        if asked is not None:
            ctx.found["answer"] = await self._answer(conversation, ctx, asked)
            if asked.kind == "faq":  # "your cancellation policy?" asks about it; it cancels nothing
                heard = ctx.heard = replace(
                    heard,
                    intents=tuple(i for i in heard.intents if i not in (Intent.CANCEL, Intent.RESCHEDULE)),
                )
            # Hours and prices asked about a service are questions, not bookings; with a day or time, a
            # business answer goes on top of the booking it came with ("massage friday at 10, parking?").
            booking = heard.when or heard.practitioner or (heard.services and asked.kind == "faq")
            if not self._in_a_step(conversation) and not booking:
                # A question and nothing else: its answer, and a way to book.
                book = Option(id="book", title=say(conversation.locale, "options/book"))
                ctx.replies.append(
                    Reply(text=ctx.found.pop("answer"), options=(book,) if asked.offer_booking else ())
                )
                return
        job = self._job_for(conversation, heard)
        if job == "cancelling" and self._booking_under_way(conversation) and not await ctx.desk.upcoming():
            # "No, cancel" in the middle of a booking, with nothing booked yet: they mean this booking.
            self._start(conversation, DEFAULT_FLOW, fresh=True)
            self._say(conversation, ctx, "booking_dropped")
            return
        if job is None and self._finished(conversation):
            if heard.says(Intent.YES) and conversation.slots.get("on_yes") in FLOWS:
                job = conversation.slots["on_yes"]
            elif heard.says(Intent.THANKS, Intent.YES, Intent.NO) and not (heard.services or heard.when):
                self._say(conversation, ctx, "welcome")
                return
            else:
                job = DEFAULT_FLOW
        if job is not None and (job != conversation.flow or self._finished(conversation)):
            self._start(conversation, job)
            ctx.found["started"] = True  # this turn's words started the job: a "yes" here is an answer
        await self._fire(conversation, ctx, switched)

    async def _link_answer(self, conversation: Any, ctx: TurnContext) -> bool:
        """The WhatsApp side's answer to "someone on Messenger gave your number: is that you?"."""
        request = conversation.slots.get("link_request")
        heard = ctx.heard
        if not request:
            return False
        lapsed = ctx.desk.now - datetime.fromisoformat(request["at"]) > LINK_REQUEST_LIFE
        tapped = heard.choice in (LINK_YES, LINK_NO)
        answered = not lapsed and (tapped or heard.says(Intent.YES, Intent.NO))
        if lapsed or answered:
            conversation.slots = {k: v for k, v in conversation.slots.items() if k != "link_request"}
        if not answered:
            return False
        yes = heard.choice == LINK_YES or (
            not tapped and heard.says(Intent.YES) and not heard.says(Intent.NO)
        )
        linked = yes and await ctx.desk.link_with(int(request["client"]))
        self._say(
            conversation, ctx, "link_done" if linked else "link_declined", channel=request.get("channel")
        )
        return True

    def _job_for(self, conversation: Any, heard: Heard) -> str | None:
        for intent in heard.intents:  # strongest first: "no, cancel it" is about cancelling
            if intent == Intent.RESCHEDULE and self._booking_under_way(conversation):
                continue  # "can we change the time?" while booking: about this booking (see BookingFlow)
            if intent in JOBS:
                return JOBS[intent]
        finished = self._finished(conversation)
        reminded = finished and (conversation.slots.get("reminded") or COMING.search(heard.text.casefold()))
        if heard.says(Intent.YES) and (heard.appointment or reminded):
            return "reconfirming"  # a reminder's button, a yes to a reminder, or "I'll be there"
        wants_booking = (
            heard.says(Intent.FIRST_AVAILABLE) or heard.services or heard.when or heard.practitioner
        )
        if wants_booking and (conversation.flow == "handoff" or self._finished(conversation)):
            return "booking"  # inside another job, a service or a day is that job's answer
        return None

    def _in_a_step(self, conversation: Any) -> bool:
        """A job is waiting for the client's answer to one of its questions."""
        return not self._finished(conversation) and conversation.state != initial_state(conversation.flow)

    async def _answer(self, conversation: Any, ctx: TurnContext, asked: Asked) -> str:
        locale, business = conversation.locale, ctx.business
        if asked.kind == "hours":
            return hours_answer(business, locale, ctx.desk.local_now.date())
        if asked.kind == "prices":
            return prices_answer(business, locale, asked.services)
        return await self._business_text(asked.answer or "", conversation, ctx) or (asked.answer or "")

    async def _business_text(
        self, source: str, conversation: Any, ctx: TurnContext, name: str | None = None
    ) -> str | None:
        """A text the business wrote, filled in for this client (flows/business_texts.py)."""
        needs = business_texts.uses(source)
        name = name or getattr(conversation, "client_name", None) or ""
        context: dict[str, Any] = {
            "business": {
                "name": ctx.business.name,
                "phone": ctx.business.phone,
                "address": ctx.business.address,
            },
            "client": {"first_name": name.split(" ")[0] if name else "", "name": name},
        }
        # The business wrote the text in its own language: what fills it in speaks that language too.
        if "opening_hours" in needs:
            context["opening_hours"] = hours_lines(ctx.business, ctx.business.locale)
        if "next_free_slot" in needs:
            context["next_free_slot"] = await self._next_free(ctx)
        return business_texts.render(source, context)

    async def _next_free(self, ctx: TurnContext) -> str:
        """The soonest free start of any service clients can book (a few looked at), as a client reads it."""
        found = []
        for service in [s for s in ctx.business.offered if not s.is_class][:5]:
            found += [slot.start for slot in await ctx.desk.soonest(service, count=1)]
        if not found:
            return ""
        return formatting.moment(ctx.desk.local(min(found)), ctx.business.locale, ctx.desk.local_now.date())

    async def _say_away(self, conversation: Any, ctx: TurnContext, turn: Turn) -> None:
        """Outside opening hours (or on a holiday) the business's away message goes on top of the reply,
        once per closed spell; the bot goes on booking all the same."""
        business, channel = ctx.business, ctx.desk.channel
        if not business.away or not ctx.replies or (channel and channel not in business.away_channels):
            return
        reopens = closed_until(business.rules, ctx.desk.now)
        if reopens is False:
            return  # open now
        spell = reopens.isoformat() if reopens else "closed"
        if conversation.slots.get("away_said") == spell:
            return
        text = await self._business_text(business.away, conversation, ctx, turn.client_name)
        if text:
            conversation.slots = {**conversation.slots, "away_said": spell}
            _prepend(ctx, _tidy(text))

    def _booking_under_way(self, conversation: Any) -> bool:
        return (
            conversation.flow == "booking"
            and not self._finished(conversation)
            and bool(conversation.slots.get("service"))
        )

    def _finished(self, conversation: Any) -> bool:
        return bool(FLOWS[conversation.flow].states_map[conversation.state].final)

    def _start(self, conversation: Any, flow: str, *, fresh: bool = False) -> None:
        slots = conversation.slots or {}
        paused = slots.get("paused")
        if self._booking_under_way(conversation) and flow != "booking":
            paused = {k: v for k, v in slots.items() if k in BOOKING_SLOTS}
        conversation.flow, conversation.state = flow, initial_state(flow)
        conversation.slots = {k: v for k, v in slots.items() if k in KEPT and k != "paused"}
        if fresh:
            conversation.misunderstood = 0
        elif flow == "booking" and paused:
            conversation.slots.update(paused)  # back from the side trip: where the booking was
        elif paused:
            conversation.slots["paused"] = paused

    async def _fire(self, conversation: Any, ctx: TurnContext, switched: bool) -> None:
        flow = conversation.flow
        machine = self._machine(flow, ctx.business)
        machine.model.bind(conversation)  # type: ignore[attr-defined]
        machine.turn = ctx
        try:
            learned = await machine.note()  # type: ignore[attr-defined]
            # A bare "yes" or "no" to a question that wanted a name, a number or a time answers nothing:
            # it counts towards the limit like any turn not understood (no question repeats for ever).
            unanswered = ctx.found.get("unanswered") and not ctx.found.get("started")
            understood = (learned or _understood(ctx.heard) or switched) and not unanswered
            answer = ctx.found.pop("answer", None)
            if answer is not None and not understood:
                # A question in the middle of a job: its answer, then the job's question again, where it was.
                ctx.replies.append(Reply(text=answer))
                last = conversation.slots.get("last_reply")
                if isinstance(last, dict) and last.get("text"):
                    options = tuple(Option(**o) for o in last.get("options") or ())
                    text = f"{say(str(last.get('locale') or conversation.locale), 'back_to')}\n{last['text']}"
                    ctx.replies.append(Reply(text=text, options=options, options_label=last.get("label")))
                    # What is asked is still the question itself, without "Back to where we were:".
                    ctx.found["asked_again"] = Reply(
                        text=last["text"], options=options, options_label=last.get("label")
                    )
                return
            if answer is not None:
                ctx.found.setdefault("before", []).insert(0, answer)
            if not understood and conversation.flow != "handoff":
                conversation.misunderstood = (conversation.misunderstood or 0) + 1
                if conversation.misunderstood > OFFER_CHOICES_AFTER:
                    self._hand_to_person(conversation, ctx, lost=True)
                    return
                if conversation.misunderstood == OFFER_CHOICES_AFTER:
                    self._offer_menu(conversation, ctx, "lost")
                    return
                sorry = say(conversation.locale, ctx.found.get("sorry") or "not_understood")
                await _send(machine)
                _prepend(ctx, sorry)
                return
            else:
                conversation.misunderstood = 0
            await _send(machine)
        finally:
            # A machine that entered a final state is not reused: it is built afresh for the next job.
            stopped = conversation.flow == flow and self._finished(conversation)
            machine.turn = None
            machine.model.bind(None)  # type: ignore[attr-defined]
            if not stopped:
                self._idle[(flow, ctx.business.id)].append(machine)

    def _machine(self, flow: str, business: BusinessProfile) -> Flow:
        pool = self._idle.setdefault((flow, business.id), [])
        return pool.pop() if pool else FLOWS[flow](_Bound(_Blank(flow)))

    # ------------------------------------------------------------------------------------- one-offs

    def _hand_to_person(self, conversation: Any, ctx: TurnContext, *, lost: bool = False) -> None:
        self._start(conversation, "handoff", fresh=True)
        conversation.needs_staff = True
        self._say(conversation, ctx, "handed_to_staff", lost=lost)

    def _offer_menu(self, conversation: Any, ctx: TurnContext, text: str) -> None:
        locale = conversation.locale
        options = [
            Option(id="book", title=say(locale, "options/book")),
            Option(id="mine", title=say(locale, "options/mine")),
            Option(id="person", title=say(locale, "options/talk_to_person")),
        ]
        body = say(locale, text, business_name=ctx.business.name, flow=conversation.flow)
        ctx.replies.append(
            Reply(text=body, options=tuple(options), options_label=say(locale, "options_label"))
        )

    async def _list_appointments(self, conversation: Any, ctx: TurnContext) -> None:
        desk, locale = ctx.desk, conversation.locale
        upcoming = await desk.upcoming()
        today = desk.local_now.date()
        lines = [
            {
                "service_name": ctx.business.service_name(a.service_name, locale),
                "when": formatting.moment(desk.local(a.start), locale, today),
                "confirmed": a.status == "confirmed",
                "practitioner": a.practitioner_name,
            }
            for a in upcoming
        ]
        options = [Option(id="book", title=say(locale, "options/book"))]
        if upcoming:
            options = [
                Option(id="reschedule", title=say(locale, "options/reschedule")),
                Option(id="cancel", title=say(locale, "options/cancel")),
                *options,
            ]
        body = say(locale, "my_appointments", appointments=lines, business_name=ctx.business.name)
        ctx.replies.append(
            Reply(text=body, options=tuple(options), options_label=say(locale, "options_label"))
        )

    async def _running_late(self, conversation: Any, ctx: TurnContext) -> None:
        """Reassure the client, note it on the appointment, and flag the conversation for staff; the bot
        stays where it was."""
        minutes = ctx.heard.late.minutes if ctx.heard.late else None
        appointment = await ctx.desk.running_late(minutes)
        if appointment is not None:
            conversation.needs_staff = True  # the front desk sees it in the inbox
        self._say(
            conversation,
            ctx,
            "running_late",
            minutes=minutes,
            found=appointment is not None,
            service_name=ctx.business.service_name(appointment.service_name, conversation.locale)
            if appointment
            else None,
            when=formatting.clock(ctx.desk.local(appointment.start), conversation.locale)
            if appointment
            else None,
        )

    def _say(self, conversation: Any, ctx: TurnContext, name: str, **context: Any) -> None:
        text = say(conversation.locale, name, business_name=ctx.business.name, **context)
        ctx.replies.append(Reply(text=text))

    # ------------------------------------------------------------------------------------- language

    async def _language(self, conversation: Any, heard: Heard, desk: Desk) -> bool:
        """The business's language until the client asks for another or clearly writes in it."""
        wanted = heard.asked_language or heard.language
        if heard.asked_language is None and conversation.state == "asking_name":
            return False  # "mathias thomsen" is a name, not English
        if wanted is None or wanted == conversation.locale or wanted not in ("en", "da"):
            return False
        conversation.locale = wanted
        await desk.remember_language(wanted)
        return heard.asked_language is not None

    async def _greet_first_time(self, conversation: Any, ctx: TurnContext, turn: Turn) -> None:
        if conversation.slots.get("greeted") or not ctx.replies:
            return
        conversation.slots = {**conversation.slots, "greeted": True}
        business, channel = ctx.business, ctx.desk.channel
        if business.greeting and channel and channel not in business.greeting_channels:
            return  # the business turned its greeting off on this channel
        first = (turn.client_name or "").split(" ")[0]
        greeting = None
        # The business wrote its greeting in its own language; a client writing another gets ours in theirs.
        if business.greeting and conversation.locale == business.locale:
            greeting = await self._business_text(business.greeting, conversation, ctx, turn.client_name)
            greeting = _tidy(greeting) if greeting else None
        greeting = greeting or say(
            conversation.locale, "greeting", client_name=first, business_name=ctx.business.name
        )
        _prepend(ctx, greeting)


_SPACE_BEFORE_MARK = re.compile(r"[ \t]+([,.!?;:])")


def _tidy(text: str) -> str:
    """A business text with an empty variable in it: "Hi , welcome!" reads "Hi, welcome!"."""
    text = _SPACE_BEFORE_MARK.sub(r"\1", text)
    return "\n".join(" ".join(line.split()) for line in text.splitlines()).strip()


def _prepend(ctx: TurnContext, line: str) -> None:
    """One message, not two: a greeting or an apology goes on top of the first reply."""
    if not ctx.replies:
        ctx.replies.append(Reply(text=line))
        return
    head = ctx.replies[0]
    ctx.replies[0] = Reply(
        text=f"{line}\n{head.text}", options=head.options, options_label=head.options_label
    )


def _label(text: str) -> str:
    """An option's title as typed: case, accents, punctuation and spacing aside."""
    return " ".join(_PUNCTUATION.sub(" ", fold(text)).split())


def _typed_choice(turn: Turn, slots: dict[str, Any]) -> Turn:
    """A client who types an option's label ("Change something") instead of tapping it has tapped it."""
    if turn.choice_id or not turn.text or len(turn.text) > 80:
        return turn
    titles, ids = slots.get("last_titles") or [], slots.get("last_options") or []
    typed = _label(turn.text)
    for title, option_id in zip(titles, ids, strict=False):
        if typed and typed == title:
            return replace(turn, choice_id=str(option_id))
    return turn


def _remember_options(conversation: Any, replies: list[Reply], asked_last: Reply | None = None) -> None:
    """The options last offered, so a channel that shows them numbered can take "2" for the second."""
    offered = next((reply.options for reply in reversed(replies) if reply.options), ())
    kept = ("last_options", "last_titles", "last_reply")
    slots = {k: v for k, v in conversation.slots.items() if k not in kept}
    if offered:
        slots["last_options"] = [option.id for option in offered]
        slots["last_titles"] = [_label(option.title) for option in offered]
    if asked_last is not None:  # what was asked last, to ask again after a question ("is there parking?")
        last = asked_last
        slots["last_reply"] = {
            "text": last.text[-1000:],
            "options": [{"id": o.id, "title": o.title, "description": o.description} for o in last.options],
            "label": last.options_label,
            "locale": conversation.locale,
        }
    if slots != conversation.slots:
        conversation.slots = slots


async def _send(machine: Flow) -> None:
    """Machines with an async guard or action run on the async engine; the others answer at once."""
    result = machine.send("said")
    if inspect.isawaitable(result):
        await result


def _understood(heard: Heard) -> bool:
    return bool(
        heard.intents
        or heard.services
        or heard.choice
        or heard.asked_language
        or heard.practitioner
        or heard.anyone
        or heard.same_as_last
    )
