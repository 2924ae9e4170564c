"""Small talk: greeting, goodbye, thanks, "what can you do", "no" (the intents greet, goodbye,
thank, bot_capabilities, deny), one action each, written through the answers' catalog.

Why custom actions and not domain.yml responses: the answer must be in the language of the
conversation (issue #17 item 5), and the ``language`` slot is set only by the actions, so for a
first "hello" it is still empty when a response would run. Two ways were weighed:

- responses with a variation per language (``condition: [{type: slot, name: language, value:
  en}]``) plus ``action_validate_slot_mappings`` (a rasa_sdk ValidationAction) setting the slot
  at the end of ``action_extract_slots``: Rasa calls that action on *every* turn, so every
  message, questions included (which already call one action), would pay a second action-server
  round trip, and the English texts would live in domain.yml, apart from the other labels;
- one small action per goal (as rasa-demo and helpdesk-assistant do), chosen: only these
  small-talk turns call the action server (once, as every other intent's turn already does),
  the language is decided by the one rule of :func:`actions.language.speaks`, and each text has
  one source, its Vietnamese id in the code and its English in locales/en/LC_MESSAGES/answers.po.
  Measured (2 runs of 200 turns each, Rasa + action server process trees, CPU per turn): the
  action server spends 1.2-1.9 ms on a "cảm ơn" or "xin chào" turn (0.1 ms with responses); the
  Rasa side, 10.5-16.1 ms, stays within the run-to-run spread of the responses' 11.3-12.6 ms; a
  question such as "lệ phí đăng ký kết hôn" costs 19.4-21.4 ms either way. Option (a) would add
  a round trip like that one to every turn, questions included.

The buttons are the main menu of :func:`actions.common.menu_buttons` (the same four as before).
"""

from __future__ import annotations

import abc
from typing import Any

from rasa_sdk import Action, Tracker
from rasa_sdk.events import EventType
from rasa_sdk.executor import CollectingDispatcher

from actions.common import menu_buttons
from actions.language import N_, speaks, tr


class SmallTalk(Action, abc.ABC):
    """One fixed answer: its lines (each a label of the answers' catalog), with the main menu
    under it or not. Abstract (rasa_sdk registers only concrete actions): each subclass sets
    ``action_name`` and ``lines``."""

    @property
    @abc.abstractmethod
    def action_name(self) -> str: ...

    @property
    @abc.abstractmethod
    def lines(self) -> tuple[str, ...]: ...

    with_menu = False

    def name(self) -> str:
        return self.action_name

    @speaks
    async def run(
        self, dispatcher: CollectingDispatcher, tracker: Tracker, domain: dict[str, Any]
    ) -> list[EventType]:
        text = "\n".join(tr(line) for line in self.lines)
        dispatcher.utter_message(text=text, buttons=menu_buttons() if self.with_menu else [])
        return []


class ActionGreet(SmallTalk):
    action_name = "action_greet"
    lines = (
        N_(
            "Xin chào! Tôi là Trợ lý Dịch vụ công. Tôi có thể giúp Bạn tra cứu hồ sơ cần "
            "chuẩn bị, lệ phí, thời hạn giải quyết, nơi nộp và cách nộp trực tuyến của các "
            "thủ tục hành chính, hoặc tra cứu tình trạng hồ sơ đã nộp. Bạn cần hỏi gì ạ?"
        ),
    )
    with_menu = True


class ActionGoodbye(SmallTalk):
    action_name = "action_goodbye"
    lines = (N_("Cảm ơn Bạn đã sử dụng Trợ lý Dịch vụ công. Chúc Bạn một ngày tốt lành!"),)


class ActionThank(SmallTalk):
    action_name = "action_thank"
    lines = (N_("Không có gì ạ. Nếu cần hỏi thêm về thủ tục nào, Bạn cứ nhắn cho tôi nhé."),)


class ActionCapabilities(SmallTalk):
    action_name = "action_capabilities"
    lines = (
        N_("Tôi có thể giúp Bạn:"),
        N_(
            '1. Hồ sơ, giấy tờ cần chuẩn bị cho một thủ tục (ví dụ: "làm giấy khai sinh cần '
            'giấy tờ gì")'
        ),
        N_("2. Lệ phí và thời hạn giải quyết"),
        N_("3. Nơi nộp hồ sơ, giờ làm việc, số điện thoại bộ phận một cửa"),
        N_("4. Các bước thực hiện và cách nộp trực tuyến"),
        N_("5. Tra cứu tình trạng hồ sơ đã nộp theo mã hồ sơ"),
        N_("6. Số liệu giải quyết hồ sơ của địa phương"),
        N_("7. Đăng ký nhận thông báo, gửi phản ánh, kiến nghị"),
        N_('Gõ "bắt đầu lại" bất cứ lúc nào để bắt đầu cuộc trò chuyện mới.'),
    )
    with_menu = True


class ActionDeny(SmallTalk):
    """ "không", "no": nothing more is wanted."""

    action_name = "action_deny"
    lines = (N_("Vâng ạ. Bạn cần hỏi thêm gì cứ nhắn cho tôi nhé."),)
