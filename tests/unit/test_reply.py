"""Specification of bot.reply: plain body + safe HTML, always within Matrix size limits."""

from __future__ import annotations

import pytest

from bot.text.reply import MAX_BODY, MAX_HTML, Attachment, Reply, code, esc, inline, pre

MATRIX_EVENT_LIMIT = 64 * 1024  # bytes of JSON for one whole event


class TestText:
    def test_backtick_spans_become_code(self) -> None:
        reply = Reply.text("try `!logs seafile` or `!status`")
        assert reply.body == "try `!logs seafile` or `!status`"
        assert reply.html == "try <code>!logs seafile</code> or <code>!status</code>"

    def test_html_in_the_text_is_escaped(self) -> None:
        reply = Reply.text("<a href=x>click</a> & \"quotes\" 'single'")
        assert reply.html == (
            "&lt;a href=x&gt;click&lt;/a&gt; &amp; &quot;quotes&quot; &#x27;single&#x27;"
        )

    def test_html_inside_code_spans_is_escaped_too(self) -> None:
        assert Reply.text("`<script>`").html == "<code>&lt;script&gt;</code>"

    def test_room_mention_stays_plain_text(self) -> None:
        """`@room` is never turned into a link or pill: the sender decides about mentions."""
        html = Reply.text("ping @room now").html
        assert html == "ping @room now"

    def test_line_breaks(self) -> None:
        assert Reply.text("one\ntwo").html == "one<br>two"

    def test_an_unbalanced_backtick_stays_literal(self) -> None:
        assert Reply.text("it's a ` mistake").html == "it&#x27;s a ` mistake"
        assert Reply.text("`a` and ` b").html == "<code>a</code> and ` b"


def test_helpers_escape() -> None:
    assert esc("<b>") == "&lt;b&gt;"
    assert code("a<b") == "<code>a&lt;b</code>"
    assert pre("x & y") == "<pre><code>x &amp; y</code></pre>"
    assert inline("`x`") == "<code>x</code>"


class TestBounded:
    def test_small_replies_are_unchanged(self) -> None:
        reply = Reply(body="ok", html="<b>ok</b>", attachment=Attachment("a.log", b"data"))
        assert reply.bounded() == reply

    def test_oversized_body_is_cut_and_says_so(self) -> None:
        bounded = Reply(body="x" * (MAX_BODY + 1000)).bounded()
        assert len(bounded.body) <= MAX_BODY
        assert bounded.body.endswith("… (message cut: too long)")
        assert bounded.body.startswith("x" * 1000)

    def test_body_exactly_at_the_limit_is_kept(self) -> None:
        assert Reply(body="x" * MAX_BODY).bounded().body == "x" * MAX_BODY

    def test_oversized_html_is_dropped_not_cut(self) -> None:
        bounded = Reply(body="short", html="<p>" + "y" * MAX_HTML + "</p>").bounded()
        assert bounded.html is None
        assert bounded.body == "short"

    def test_attachment_is_kept(self) -> None:
        attachment = Attachment("seafile.log", b"x" * 10)
        assert Reply(body="x" * (MAX_BODY * 2), attachment=attachment).bounded().attachment == (
            attachment
        )

    @pytest.mark.parametrize("char", ["é", "日"])
    def test_non_ascii_body_fits_in_one_event(self, char: str) -> None:
        bounded = Reply(body=char * MAX_BODY * 2).bounded()
        assert len(bounded.body.encode("utf-8")) < MATRIX_EVENT_LIMIT

    def test_non_ascii_html_fits_in_one_event(self) -> None:
        bounded = Reply(body="short", html="<p>" + "日" * (MAX_HTML - 10) + "</p>").bounded()
        assert len((bounded.html or "").encode("utf-8")) < MATRIX_EVENT_LIMIT

    def test_body_and_html_together_fit_in_one_event(self) -> None:
        """20,000 accented letters: each part is under its character limit, not the event."""
        bounded = Reply.text("é" * 20_000).bounded()
        size = len(bounded.body.encode("utf-8")) + len((bounded.html or "").encode("utf-8"))
        assert size < MATRIX_EVENT_LIMIT
