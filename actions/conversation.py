"""Conversation actions: bare answers (inform), fallback, small talk that needs context,
talking to a person, feedback and notifications."""

from __future__ import annotations

import re
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType, Restarted, SlotSet, UserUtteranceReverted
from rasa_sdk.executor import CollectingDispatcher

from actions import pending
from actions.common import (
    MAX_QUERY_CHARS,
    catalog,
    locality,
    menu_buttons,
    procedure_buttons,
    short_name,
    user_text,
)
from actions.dossiers import handle_pending_dossier
from actions.language import N_, speaks, tr
from actions.procedures import answer_topic, ask_which_procedure, asks_the_same_again, last_topic
from actions.resolve import (
    not_in_catalog,
    plausible_hits,
    resolve_procedure,
    without_question_words,
)
from actions.topics import OVERVIEW, phrase, topic_buttons, topic_in
from trolydvc.catalog import SearchHit, is_clear
from trolydvc.conversation_log import FALLBACK, verdict
from trolydvc.textnorm import fold, nfc

# Metadata of a reply that says the message was not understood: the conversation log counts the
# message as a fallback whatever its intent (trolydvc.conversation_log).
NOT_UNDERSTOOD = verdict(FALLBACK)
CAPABILITIES = N_(
    "Tôi có thể trả lời về hồ sơ cần chuẩn bị, lệ phí, thời hạn, nơi nộp, các bước và cách nộp "
    "trực tuyến của thủ tục hành chính, tra cứu tình trạng hồ sơ theo mã hồ sơ, và cung cấp số "
    "liệu giải quyết hồ sơ."
)


async def complete_pending(
    tracker: Tracker, dispatcher: CollectingDispatcher
) -> list[EventType] | None:
    """Finish what the bot asked for (a dossier code, phone digits, which procedure)."""
    events = await handle_pending_dossier(tracker, dispatcher)
    if events is not None:
        return events
    waiting = pending.pending_of(tracker)
    if waiting is not None and waiting.kind == "procedure":
        topic = waiting.topic
        resolution = resolve_procedure(tracker, use_context=False)
        if resolution.procedure is not None:
            return answer_topic(topic or "", resolution.procedure, tracker, dispatcher)
        if resolution.candidates:
            return ask_which_procedure(topic, resolution, dispatcher)
    return None


class ActionInform(Action):
    """A bare answer such as a procedure name, a dossier code or four phone digits."""

    def name(self) -> str:
        return "action_inform"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = await complete_pending(tracker, dispatcher)
        if events is not None:
            return events
        resolution = resolve_procedure(tracker, use_context=False)
        text = user_text(tracker)
        topic = OVERVIEW
        if asks_the_same_again(text):
            topic = last_topic(tracker)
        elif asked := topic_in(text):  # "sổ đỏ qua mạng": a name and what is asked about it
            topic = asked
        if resolution.procedure is not None:
            return answer_topic(topic, resolution.procedure, tracker, dispatcher)
        if resolution.candidates or resolution.unknown:
            return ask_which_procedure(None if topic == OVERVIEW else topic, resolution, dispatcher)
        return fallback(tracker, dispatcher)


# A message the intent model calls off-topic is still offered the procedure it clearly names
# when the catalog match is at least this good ("đăng ký xe máy" scores 0.92; the off-topic
# examples of the training and held-out sets that match anything clearly stay below 0.7 but
# for "bán đất ở đâu", for which "mua bán đất" is a fair suggestion).
OFF_TOPIC_SUGGESTION_MIN_SCORE = 0.7


def suggest_procedure(
    raw: str,
    hits: list[SearchHit],
    tracker: Tracker,
    dispatcher: CollectingDispatcher,
    min_score: float = 0.0,
) -> list[EventType] | None:
    """The message clearly names a procedure the intent model missed: when it also says what
    it asks ("… qua mạng", "mất bao lâu"), answer that directly (the answer names the procedure;
    a button corrects a wrong guess); else offer the procedure's topics. None: no suggestion."""
    if not (hits and is_clear(hits) and hits[0].score >= min_score):
        return None
    if not plausible_hits(raw, hits[:1]):
        return None
    # generic words only ("giấy phép kinh doanh" + "xăng dầu", which no procedure explains)
    if not catalog().supports(without_question_words(raw), hits[0].code):
        return None
    proc = hits[0].procedure
    topic = topic_in(raw)
    if topic is not None:
        others = [h.procedure for h in plausible_hits(raw, hits[1:3])]
        return answer_topic(topic, proc, tracker, dispatcher, alternatives=others)
    dispatcher.utter_message(
        text=tr("Có phải Bạn muốn hỏi về thủ tục «{name}»? Bạn chọn thông tin cần xem:").format(
            name=short_name(proc)
        ),
        buttons=topic_buttons(proc),
    )
    return []


def fallback(tracker: Tracker, dispatcher: CollectingDispatcher) -> list[EventType]:
    raw = nfc(str(tracker.latest_message.get("text") or ""))
    if not raw:
        dispatcher.utter_message(
            text=tr("Bạn chưa nhập nội dung. ") + tr(CAPABILITIES),
            buttons=menu_buttons(),
            **NOT_UNDERSTOOD,
        )
        return []
    if raw.startswith("/"):
        command = raw.split()[0][:30]
        dispatcher.utter_message(
            text=tr(
                "Tôi không có lệnh «{command}». Bạn cứ gõ câu hỏi bằng tiếng Việt, "
                'hoặc gõ "bắt đầu lại" (/restart) để bắt đầu lại. '
            ).format(command=command)
            + tr(CAPABILITIES),
            buttons=menu_buttons(),
            **NOT_UNDERSTOOD,
        )
        return []
    if len(raw) > MAX_QUERY_CHARS:
        dispatcher.utter_message(
            text=tr(
                "Tin nhắn của Bạn khá dài. Bạn vui lòng hỏi ngắn gọn từng câu, ví dụ: "
                '"làm giấy khai sinh cần giấy tờ gì?"'
            ),
            buttons=menu_buttons(),
            **NOT_UNDERSTOOD,
        )
        return []
    hits = catalog().search(raw, limit=3) if user_text(tracker) else []
    if (events := suggest_procedure(raw, hits, tracker, dispatcher)) is not None:
        return events
    if candidates := plausible_hits(raw, hits):
        # The match is uncertain: confirm it, keeping the question so the tap answers it.
        topic = topic_in(raw)
        question = (
            tr("Bạn muốn hỏi {what} của thủ tục nào dưới đây?").format(what=phrase(topic))
            if topic
            else tr("Bạn muốn hỏi về thủ tục nào dưới đây?")
        )
        dispatcher.utter_message(
            text=tr("Tôi chưa chắc Bạn hỏi thủ tục nào. ") + question,
            buttons=procedure_buttons([h.procedure for h in candidates]),
        )
        return [SlotSet("pending", pending.encode(pending.which_procedure(topic)))]
    dispatcher.utter_message(
        text=tr("Xin lỗi, tôi chưa hiểu ý Bạn. ")
        + tr(CAPABILITIES)
        + tr(" Bạn chọn một mục hoặc hỏi lại nhé."),
        buttons=menu_buttons(),
        **NOT_UNDERSTOOD,
    )
    return []


class ActionFallback(Action):
    def name(self) -> str:
        return "action_fallback"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = await complete_pending(tracker, dispatcher)
        if events is not None:
            return events
        return fallback(tracker, dispatcher)


# Words of an administrative request ("trợ cấp người cao tuổi", "xin giấy phép ..."): a message
# with one is not off-topic even when the catalog has no procedure for it.
_ADMINISTRATIVE = re.compile(
    r"\b(?:thu tuc|dang ky|tro cap|giay phep|giay chung nhan|chung nhan|xac nhan|cap lai|"
    r"cap doi|cap moi|le phi|ho so|hanh chinh|mot cua|ubnd|uy ban)\b"
)


class ActionOutOfScope(Action):
    def name(self) -> str:
        return "action_out_of_scope"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        events = await handle_pending_dossier(tracker, dispatcher)
        if events is not None:
            return events
        raw = nfc(str(tracker.latest_message.get("text") or ""))
        if raw and len(raw) <= MAX_QUERY_CHARS and not raw.startswith("/"):
            hits = catalog().search(raw, limit=3)
            events = suggest_procedure(
                raw, hits, tracker, dispatcher, OFF_TOPIC_SUGGESTION_MIN_SCORE
            )
            if events is not None:
                return events
            if _ADMINISTRATIVE.search(fold(raw)):
                dispatcher.utter_message(text=not_in_catalog(), buttons=menu_buttons())
                return []
        dispatcher.utter_message(
            text=(
                tr(
                    "Xin lỗi, câu hỏi này nằm ngoài phạm vi của tôi. "
                    "Tôi là trợ lý về thủ tục hành chính: "
                )
                + tr(CAPABILITIES)
            ),
            buttons=menu_buttons(),
        )
        return []


class ActionAffirm(Action):
    def name(self) -> str:
        return "action_affirm"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        code = tracker.get_slot("procedure")
        proc = catalog().get(str(code)) if code else None
        if proc is not None:
            dispatcher.utter_message(
                text=tr("Vâng. Bạn muốn biết thêm gì về thủ tục «{name}»?").format(
                    name=short_name(proc)
                ),
                buttons=topic_buttons(proc),
            )
        else:
            dispatcher.utter_message(text=tr("Vâng. Bạn cần hỏi gì ạ?"), buttons=menu_buttons())
        return []


class ActionRequestHuman(Action):
    def name(self) -> str:
        return "action_request_human"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        loc = locality()
        lines = [tr("Bạn có thể liên hệ trực tiếp cán bộ:")]
        if loc.hotline:
            hours = f" ({loc.hotline.hours})" if loc.hotline.hours else ""
            lines.append(f"- {loc.hotline.name}: {loc.hotline.phone}{hours}")
        for office in loc.province_offices:
            contact = ", ".join(x for x in (office.phone, office.address) if x)
            lines.append(f"- {office.name}: {contact or tr('chưa có số điện thoại trong dữ liệu')}")
        lines.append(
            tr('- Bộ phận một cửa của xã/phường nơi Bạn cư trú (hỏi "nộp ở đâu" để xem địa chỉ).')
        )
        if loc.example:
            lines.append(
                tr("(Lưu ý: số điện thoại ở trên là dữ liệu mẫu của bản cài đặt thử nghiệm.)")
            )
        if from_telegram(tracker):
            # The Telegram bot opens a case at the officials' desk (bot/handoff.py).
            dispatcher.utter_message(text=tr("Tôi đang chuyển câu hỏi của Bạn tới cán bộ."))
            dispatcher.utter_message(json_message={"channel_action": "handoff"})
            return []
        if from_widget(tracker):
            # The web app opens a case at the dashboard's desk and says so (trolydvc/web/handoff.py);
            # these contacts are its answer when no official can read the desk.
            dispatcher.utter_message(
                json_message={"channel_action": "handoff", "fallback": "\n".join(lines)}
            )
            return []
        dispatcher.utter_message(text="\n".join(lines))
        return []


class ActionGiveFeedback(Action):
    def name(self) -> str:
        return "action_give_feedback"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        loc = locality()
        link = loc.portals.feedback or loc.portals.national
        lines = [
            tr(
                "Cảm ơn Bạn đã góp ý. Để phản ánh, kiến nghị hoặc khiếu nại được tiếp nhận và trả "
                "lời chính thức, Bạn vui lòng gửi qua:"
            ),
            tr("1. Mục «Phản ánh, kiến nghị» trên Cổng Dịch vụ công: {link}").format(link=link),
        ]
        if loc.hotline:
            lines.append(f"2. {loc.hotline.name}: {loc.hotline.phone}")
        lines.append(
            tr(
                "Tôi là trợ lý tự động nên không tiếp nhận phản ánh chính thức; "
                "Bạn đừng gửi số CCCD hay thông tin cá nhân vào đây."
            )
        )
        dispatcher.utter_message(text="\n".join(lines))
        return []


def from_telegram(tracker: Tracker) -> bool:
    """Does this conversation come through the Telegram bot (bot/common.py: sender "tg:<chat>")?"""
    metadata = tracker.latest_message.get("metadata") or {}
    return str(tracker.sender_id).startswith("tg:") or metadata.get("channel") == "telegram"


def from_widget(tracker: Tracker) -> bool:
    """Does this conversation come through the web app's widget (trolydvc/web/chat.py: sender
    "web:<random>", metadata channel "web")?"""
    metadata = tracker.latest_message.get("metadata") or {}
    return str(tracker.sender_id).startswith("web:") or metadata.get("channel") == "web"


def _notification_help(subscribe: bool) -> str:
    """Outside Telegram: subscriptions live in the Telegram bot (/dangky stores chat and commune)."""
    loc = locality()
    communes = ", ".join(loc.commune_names) or loc.province.name
    if subscribe:
        return tr(
            "Trên Telegram, Bạn mở trợ lý rồi gõ lệnh /dangky và chọn xã/phường của mình "
            "({communes}) để nhận thông báo của chính quyền địa phương."
        ).format(communes=communes)
    return tr("Trên Telegram, Bạn gõ lệnh /huydangky để ngừng nhận thông báo.")


class ActionSubscribeNotifications(Action):
    def name(self) -> str:
        return "action_subscribe_notifications"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if from_telegram(tracker):
            # The Telegram bot stores the subscription of this chat (bot/chat.py: do_subscribe).
            commune = locality().find_commune(tracker.latest_message.get("text") or "")
            dispatcher.utter_message(
                json_message={
                    "channel_action": "subscribe",
                    "commune": commune.name if commune else None,
                }
            )
            return []
        dispatcher.utter_message(text=_notification_help(True))
        return []


class ActionUnsubscribeNotifications(Action):
    def name(self) -> str:
        return "action_unsubscribe_notifications"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        if from_telegram(tracker):
            dispatcher.utter_message(json_message={"channel_action": "unsubscribe"})
            return []
        dispatcher.utter_message(text=_notification_help(False))
        return []


class ActionRestart(Action):
    """Overrides Rasa's action_restart: confirm (in the conversation's language), then reset."""

    def name(self) -> str:
        return "action_restart"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=tr("Đã bắt đầu lại cuộc trò chuyện. Bạn cần hỏi gì ạ?"), buttons=menu_buttons()
        )
        return [Restarted()]


class ActionDefaultFallback(Action):
    """Overrides Rasa's action_default_fallback (no policy confident): say what the bot can do,
    and forget the turn as Rasa's own does."""

    def name(self) -> str:
        return "action_default_fallback"

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        dispatcher.utter_message(
            text=tr("Xin lỗi, tôi chưa hiểu ý Bạn. ") + tr(CAPABILITIES),
            buttons=menu_buttons(),
            **NOT_UNDERSTOOD,
        )
        return [UserUtteranceReverted()]
