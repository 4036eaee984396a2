"""Meta's side of going live, asked with read-only Graph calls: the app secret belongs to meta.app_id and
the app's webhooks point here with the fields Jola needs; each channel's token is accepted, is for that
phone number, Page or Instagram account, and its app is subscribed to the WhatsApp account or the Page."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from bot.clock import Clock
from bot.config import BusinessConfig, ChannelConfig, Config
from bot.doctor.report import FAIL, OK, WARN, Check, Status
from bot.graph import GraphClient, PermissionMissing, SendError, TokenInvalid
from bot.secret_policy import APP_SECRET_WHERE, is_placeholder, secret_problems

OBJECTS = {"whatsapp": "whatsapp_business_account", "messenger": "page", "instagram": "instagram"}
# Webhook fields per channel: those Jola cannot work without, then those it uses when they come
# (delivery and read ticks, reactions, ad referrals, messages while another app holds the thread).
NEEDED_FIELDS = {
    "whatsapp": ("messages",),
    "messenger": ("messages", "messaging_postbacks", "message_echoes"),
    "instagram": ("messages", "messaging_postbacks"),
}
WANTED_FIELDS = {
    "whatsapp": (),
    "messenger": (
        "message_deliveries",
        "message_reads",
        "message_reactions",
        "messaging_referrals",
        "standby",
    ),
    "instagram": ("messaging_seen", "message_reactions", "messaging_referral"),
}
SCOPES = {
    "whatsapp": ("whatsapp_business_messaging", "whatsapp_business_management"),
    "messenger": ("pages_messaging", "pages_manage_metadata"),
    "instagram": ("instagram_basic", "instagram_manage_messages"),
}
UTILITY_SCOPE = "page_utility_messaging"  # Messenger utility templates (reminders.messenger_template)
UTILITY_FIELD = "message_template_status_update"  # Meta approving or pausing those templates
ASSET = {"whatsapp": "phone number", "messenger": "Page", "instagram": "Instagram account"}
TOKEN_FIX = {
    "whatsapp": "make a System User token for this app (Business settings > Users > System users > Generate "
    "token) with whatsapp_business_messaging and whatsapp_business_management, the WhatsApp account as "
    "its asset; the API Setup page's temporary token lasts 24 hours",
    "messenger": "take the Page's own access token: a System User token with the Page as its asset, or GET "
    "/me/accounts with a long-lived user token of a Page admin (docs/going-live.md)",
    "instagram": "take the access token of the Facebook Page linked to the account (as for Messenger), with "
    "instagram_basic and instagram_manage_messages",
}
ID_FIX = {
    "whatsapp": "copy the Phone number ID from WhatsApp > API Setup in the App Dashboard (not the phone "
    "number, not the WhatsApp Business Account ID)",
    "messenger": "copy the Page ID from the Page's About > Page transparency, or from GET /me with its token",
    "instagram": "copy the Instagram account id from GET /{page-id}?fields=instagram_business_account",
}
WABA_FIX = (
    "copy the WhatsApp Business Account ID from WhatsApp > API Setup, and give the token's System User that "
    "account as an asset"
)
EXPIRY_FAILS_WITHIN_DAYS = 2


def app_token(config: Config) -> str | None:
    """The app's own token (app id|app secret) when both look right; reads the app's subscriptions."""
    meta = config.meta
    usable = meta.app_id and not any(p.key == "meta.app_secret" for p in secret_problems(config))
    return f"{meta.app_id}|{meta.app_secret}" if usable and meta.app_secret else None


def _utility(business: BusinessConfig) -> bool:
    return bool(getattr(business.reminders, "messenger_template", ""))


def _wanted(config: Config, kind: str, business: BusinessConfig | None = None) -> tuple[str, ...]:
    """The fields Jola uses when they come; with a Messenger utility template, its status updates too."""
    utility = _utility(business) if business else any(_utility(b) for b in config.businesses)
    return WANTED_FIELDS[kind] + ((UTILITY_FIELD,) if kind == "messenger" and utility else ())


def _said(status: Status, subject: str, message: str, fix: str = "", business: str | None = None) -> Check:
    area = "channels" if business else "meta_app"
    return Check(area, subject, status, message, fix, business)


async def check_meta_app(config: Config, graph: GraphClient) -> tuple[list[Check], bool]:
    """The app's secret and webhook subscriptions; True when Meta took the app token."""
    kinds = [kind for kind in OBJECTS if any(c.kind == kind for b in config.businesses for c in b.channels)]
    if not kinds:
        return [], False
    meta = config.meta
    subject = "meta.app_id"
    if not meta.app_id:
        fix = (
            "set meta.app_id (App Dashboard > App settings > Basic > App ID); Jola also needs it to tell its "
        )
        fix += "own echoes on Messenger and Instagram from a person's replies"
        return [
            _said(WARN, subject, "is not set, so the app secret and webhooks were not checked", fix)
        ], False
    token = app_token(config)
    if token is None:
        return [
            _said(WARN, subject, "not checked with Meta until meta.app_secret is right (see Secrets)")
        ], False
    try:
        answer = await graph.get(f"{meta.app_id}/subscriptions", token)
    except SendError as err:
        if err.transient:
            return [_said(FAIL, subject, f"Meta did not answer ({err.reason})", _reach(config))], False
        fix = f"copy the App secret of app {meta.app_id} from {APP_SECRET_WHERE}, or correct meta.app_id"
        message = f"Meta refused app {meta.app_id} with this meta.app_secret ({err.reason})"
        return [_said(FAIL, subject, message, fix)], False
    checks = [_said(OK, subject, f"Meta accepts app {meta.app_id} with this meta.app_secret")]
    subscriptions = {str(s.get("object")): s for s in _items(answer) if isinstance(s, dict)}
    for kind in kinds:
        checks.append(_app_webhook(config, kind, subscriptions.get(OBJECTS[kind])))
    return checks, True


def _app_webhook(config: Config, kind: str, subscription: dict[str, Any] | None) -> Check:
    subject = f"webhook {OBJECTS[kind]}"
    public = config.server.public_url.rstrip("/")
    callback = f"{public}/webhook" if public else "https://<your address>/webhook"
    product = {"whatsapp": "WhatsApp > Configuration", "messenger": "Messenger > Settings"}.get(
        kind, "Instagram > Webhooks"
    )
    how = (
        f"in the App Dashboard, {product}: callback URL {callback}, verify token = meta.verify_token, "
        f"and subscribe to {', '.join(NEEDED_FIELDS[kind] + _wanted(config, kind))}"
    )
    if subscription is None:
        return _said(FAIL, subject, f"the app has no webhook for {kind}, so Meta sends Jola nothing", how)
    if subscription.get("active") is False:
        return _said(FAIL, subject, "the app's webhook is switched off", how)
    url = str(subscription.get("callback_url") or "")
    if public and url.rstrip("/") != callback:
        return _said(
            FAIL, subject, f"Meta sends {kind} deliveries to {url or 'nowhere'}, not {callback}", how
        )
    fields = {str(f.get("name")) if isinstance(f, dict) else str(f) for f in subscription.get("fields") or []}
    missing = [f for f in NEEDED_FIELDS[kind] if f not in fields]
    if missing:
        return _said(FAIL, subject, f"the webhook lacks the field(s) Jola needs: {', '.join(missing)}", how)
    unused = [f for f in _wanted(config, kind) if f not in fields]
    if unused:
        return _said(
            WARN, subject, f"goes to {url}; not subscribed, though Jola uses them: {', '.join(unused)}", how
        )
    return _said(OK, subject, f"Meta sends {kind} deliveries to {url}")


def _items(answer: dict[str, Any]) -> list[Any]:
    data = answer.get("data")
    return data if isinstance(data, list) else []


def _reach(config: Config) -> str:
    return f"try again in a minute, and check this server can reach {config.meta.graph_api_url}"


async def check_channel(
    config: Config, business: BusinessConfig, channel: ChannelConfig, graph: GraphClient, app_ok: bool
) -> list[Check]:
    kind, asset = channel.kind, channel.external_id
    subject = f"{kind} {asset}"

    def said(status: Status, message: str, fix: str = "") -> Check:
        return _said(status, subject, message, fix, business.id)

    token = channel.access_token
    if not token or is_placeholder(token):
        state = "is still the example value" if token else "is not set"
        return [said(FAIL, f"access_token {state}", TOKEN_FIX[kind])]
    try:
        if channel.login == "instagram":
            checks = [said(*await _instagram_login_identity(graph, asset, token))]
        else:
            checks = [said(*await _identity(graph, kind, asset, token))]
    except SendError as err:
        return [said(*_refused(config, err, kind, asset, token))]
    if checks[0].status == FAIL or channel.login == "instagram":  # Meta's token debugger is not its host's
        return checks
    if app_ok:
        checks.append(said(*await _token_facts(config, business, graph, kind, token)))
    if kind == "whatsapp":
        checks.append(said(*await _waba_subscription(config, graph, channel)))
    elif kind == "messenger":
        wanted = _wanted(config, kind, business)
        checks.append(said(*await _page_subscription(config, graph, asset, token, wanted)))
    return checks


async def _identity(graph: GraphClient, kind: str, asset: str, token: str) -> tuple[Status, str, str]:
    if kind == "whatsapp":
        found = await graph.get(asset, token, {"fields": "id,display_phone_number,verified_name"})
        number = found.get("display_phone_number") or "?"
        name = found.get("verified_name")
        return OK, f"token accepted; the number is {number}" + (f" ({name})" if name else ""), ""
    if kind == "messenger":
        found = await graph.get("me", token, {"fields": "id,name"})
        if str(found.get("id")) != asset:
            return (
                FAIL,
                f"the access token is not this Page's: Meta says it is for {found.get('id')} (a person's "
                "token, or another Page's)",
                TOKEN_FIX[kind],
            )
        return OK, f"token accepted; it is the Page token of {found.get('name') or asset}", ""
    found = await graph.get(asset, token, {"fields": "id,username"})
    if str(found.get("id")) != asset:
        return FAIL, f"Meta answered for {found.get('id')}, not {asset}", ID_FIX[kind]
    username = found.get("username")
    return OK, "token accepted; the account is " + (f"@{username}" if username else asset), ""


async def _instagram_login_identity(graph: GraphClient, asset: str, token: str) -> tuple[Status, str, str]:
    """An Instagram Login token names its professional account as `user_id` (the id deliveries carry)."""
    found = await graph.get("me", token, {"fields": "user_id,username"})
    if str(found.get("user_id") or found.get("id")) != asset:
        said = found.get("user_id") or found.get("id")
        return FAIL, f"the Instagram Login token is for account {said}, not {asset}", ID_FIX["instagram"]
    username = found.get("username")
    return OK, "Instagram Login token accepted; the account is " + (f"@{username}" if username else asset), ""


def _refused(config: Config, err: SendError, kind: str, asset: str, token: str) -> tuple[Status, str, str]:
    if err.transient:
        return FAIL, f"Meta did not answer ({err.reason})", _reach(config)
    if isinstance(err, TokenInvalid):
        if kind == "instagram" and token.startswith("IG"):
            return (
                FAIL,
                "this is an Instagram Login token, which only graph.instagram.com takes",
                'set login = "instagram" on this channel (and meta.instagram_app_secret): docs/going-live.md',
            )
        return FAIL, f"Meta does not accept the access token ({err.reason})", TOKEN_FIX[kind]
    if err.code == 100 and err.subcode == 33:
        message = f"the access token cannot see {ASSET[kind]} {asset}: a wrong id, or a token for another "
        message += "business's assets"
        return FAIL, message, ID_FIX[kind]
    if isinstance(err, PermissionMissing):
        return FAIL, f"the access token lacks a permission ({err.reason})", TOKEN_FIX[kind]
    return FAIL, f"Meta refused the check ({err.summary})", TOKEN_FIX[kind]


async def _token_facts(
    config: Config, business: BusinessConfig, graph: GraphClient, kind: str, token: str
) -> tuple[Status, str, str]:
    """Whose app the token is for, when it ends, and its permissions (Meta's debug_token)."""
    meta = config.meta
    try:
        found = await graph.get("debug_token", app_token(config) or "", {"input_token": token})
    except SendError as err:
        return WARN, f"Meta did not say what the token is ({err.reason})", ""
    data = found.get("data") if isinstance(found.get("data"), dict) else {}
    if data.get("is_valid") is not True:
        return WARN, "Meta's token debugger does not vouch for the access token", TOKEN_FIX[kind]
    made_for = str(data.get("app_id") or "")
    if made_for and made_for != meta.app_id:
        message = f"the access token was made for Meta app {made_for}, not meta.app_id {meta.app_id}: that "
        message += "app's messages and webhooks are not Jola's"
        return FAIL, message, TOKEN_FIX[kind]
    needed = list(SCOPES[kind])
    if kind == "messenger" and getattr(business.reminders, "messenger_template", ""):
        needed.append(UTILITY_SCOPE)
    scopes = data.get("scopes")
    missing = [s for s in needed if isinstance(scopes, list) and s not in scopes]
    if missing:
        return FAIL, f"the access token lacks the permission(s) {', '.join(missing)}", TOKEN_FIX[kind]
    expires = data.get("expires_at")
    if isinstance(expires, int) and expires > 0:
        ends = datetime.fromtimestamp(expires, UTC)
        days = (ends - Clock().now()).total_seconds() / 86400
        status: Status = FAIL if days < EXPIRY_FAILS_WITHIN_DAYS else WARN
        message = f"the access token expires on {ends:%Y-%m-%d %H:%M} UTC, and Jola cannot renew it"
        return status, message, TOKEN_FIX[kind]
    has = f", and has {', '.join(needed)}" if isinstance(scopes, list) else ""
    return OK, f"the access token is this app's and does not expire{has}", ""


async def _waba_subscription(
    config: Config, graph: GraphClient, channel: ChannelConfig
) -> tuple[Status, str, str]:
    waba = channel.waba_id
    if not waba:
        fix = "add waba_id to this channel (WhatsApp > API Setup shows the WhatsApp Business Account ID)"
        return WARN, "the webhook subscription of its WhatsApp Business Account was not checked", fix
    subscribe = (
        f'curl -X POST "https://graph.facebook.com/{config.meta.graph_api_version}/{waba}/subscribed_apps" '
        '-H "Authorization: Bearer $ACCESS_TOKEN"'
    )
    try:
        answer = await graph.get(f"{waba}/subscribed_apps", channel.access_token)
    except SendError as err:
        if err.transient:
            return FAIL, f"Meta did not answer ({err.reason})", _reach(config)
        message = f"WhatsApp Business Account {waba} cannot be read with this token ({err.reason})"
        return FAIL, message, WABA_FIX
    apps = [
        str((item.get("whatsapp_business_api_data") or {}).get("id") or item.get("id") or "")
        for item in _items(answer)
        if isinstance(item, dict)
    ]
    return _subscribed(config, apps, f"WhatsApp Business Account {waba}", subscribe)


def _subscribed(config: Config, apps: list[str], what: str, subscribe: str) -> tuple[Status, str, str]:
    app_id = config.meta.app_id
    if not apps:
        return FAIL, f"no app is subscribed to {what}, so Meta sends its messages nowhere", subscribe
    if not app_id:
        return (
            WARN,
            f"{what} has app(s) {', '.join(apps)} subscribed; set meta.app_id to know one is ours",
            "",
        )
    if app_id not in apps:
        return FAIL, f"our app {app_id} is not subscribed to {what} (these are: {', '.join(apps)})", subscribe
    return OK, f"our app is subscribed to {what}", ""


async def _page_subscription(
    config: Config, graph: GraphClient, page: str, token: str, wanted: tuple[str, ...]
) -> tuple[Status, str, str]:
    fields = ",".join(NEEDED_FIELDS["messenger"] + wanted)
    subscribe = (
        f'curl -X POST "https://graph.facebook.com/{config.meta.graph_api_version}/{page}/subscribed_apps'
        f'?subscribed_fields={fields}" -H "Authorization: Bearer $PAGE_ACCESS_TOKEN"'
    )
    try:
        answer = await graph.get(f"{page}/subscribed_apps", token)
    except SendError as err:
        if err.transient:
            return FAIL, f"Meta did not answer ({err.reason})", _reach(config)
        return FAIL, f"the Page's subscribed apps cannot be read ({err.reason})", TOKEN_FIX["messenger"]
    items = [item for item in _items(answer) if isinstance(item, dict)]
    status, message, fix = _subscribed(
        config, [str(i.get("id") or "") for i in items], f"Page {page}", subscribe
    )
    if status != OK:
        return status, message, fix
    ours = next(i for i in items if str(i.get("id")) == config.meta.app_id)
    got = {str(f) for f in ours.get("subscribed_fields") or []}
    missing = [f for f in NEEDED_FIELDS["messenger"] if f not in got]
    if missing:
        return FAIL, f"our app gets the Page's events without {', '.join(missing)}", subscribe
    unused = [f for f in wanted if f not in got]
    if unused:
        return WARN, f"our app is subscribed to Page {page}, without {', '.join(unused)}", subscribe
    return OK, f"our app is subscribed to Page {page} with the fields Jola needs", ""
