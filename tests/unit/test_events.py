"""The JSON the bot sends: threads, edits, files (plain and encrypted), defused @room."""

from __future__ import annotations

from bot.matrix import events
from bot.text.reply import Attachment, Reply


def test_messages_are_quiet_notices_with_html() -> None:
    content = events.message(Reply("a @room b", "<p>a @Room b</p>"))
    assert content["msgtype"] == "m.notice" and content["m.mentions"] == {}
    assert "@room" not in content["body"] and "@Room" not in content["formatted_body"]
    paging = events.message(Reply.text("x"), msgtype="m.text", mentions=["@oncall:x.org"])
    assert paging["m.mentions"] == {"user_ids": ["@oncall:x.org"]}


def test_edits_replace_the_original_and_keep_a_fallback() -> None:
    content = events.edit("$orig", Reply("new", "<b>new</b>"))
    assert content["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$orig"}
    assert content["m.new_content"]["body"] == "new" and content["body"] == "* new"
    assert "m.relates_to" not in content["m.new_content"]


def test_files_plain_and_encrypted() -> None:
    att = Attachment("web.log", b"hello")
    relation = events.thread_relation("$root", "$cmd")
    plain = events.file_message(att, "mxc://h/1", relation)
    assert plain["url"] == "mxc://h/1" and "file" not in plain
    keys = {"v": "v2", "key": {"k": "secret"}, "iv": "x", "hashes": {"sha256": "y"}}
    secret = events.file_message(att, "mxc://h/2", relation, keys)
    assert "url" not in secret and secret["file"]["url"] == "mxc://h/2"
    assert secret["file"]["key"] == {"k": "secret"}
    assert secret["m.relates_to"]["rel_type"] == "m.thread"
