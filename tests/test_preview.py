"""`muscle-deck preview`, end to end: the gallery page as headless Chromium renders it.

Chromium runs the page's script from a file: URL; --dump-dom shows the DOM after it ran and
--screenshot the pixels. These tests need the `chromium` binary (Debian/Ubuntu:
`apt-get install -y chromium`), or the browser named by MUSCLE_DECK_BROWSER. In CI (CI=true;
.ci/run installs Chromium) they fail without it; on a developer's machine without Chromium they
are skipped with that instruction.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import re
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.parse
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any, cast

import pytest
from click.testing import CliRunner
from conftest import ROOT, TEMPLATES

from builder.cli import main
from builder.errors import OutputError
from builder.kinds import KINDS
from builder.preview import write_preview
from builder.select import Selection

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


# --- the browser ------------------------------------------------------------------------------

def browser() -> str:
    given = os.environ.get("MUSCLE_DECK_BROWSER")  # a browser's path, as CI's setup step gives it
    if given:
        return given
    for name in BROWSERS:
        found = shutil.which(name)
        if found:
            return found
    message = ("headless Chromium is needed for the preview tests and was not found; install it "
               "with `apt-get update && apt-get install -y chromium`")
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-extensions", "--no-first-run",
         "--no-default-browser-check", "--hide-scrollbars", "--mute-audio")


def chromium(page: Path, query: str, tmp_path: Path, *args: str) -> str:
    """Open page?query in headless Chromium with these extra arguments; return its stdout."""
    profile = tmp_path / "chromium-profile"
    command = [browser(), *FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=2000", *args,
               page.resolve().as_uri() + query]
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          start_new_session=True) as process:
        try:
            out, err = process.communicate(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            pytest.fail(f"Chromium did not finish within 120 s: {' '.join(command)}")
    assert process.returncode == 0, f"Chromium failed ({process.returncode}): {err}"
    return out


class DevTools:
    """One headless Chromium page driven through the DevTools protocol, over a plain WebSocket:
    many screenshots from one browser, where `--screenshot` starts a browser for each."""

    def __init__(self, profile: Path, size: tuple[int, int]) -> None:
        self.process = subprocess.Popen([browser(), *FLAGS, f"--user-data-dir={profile}", "--remote-debugging-port=0",
                                         f"--window-size={size[0]},{size[1]}", "about:blank"],
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        self.buffer, self.events, self.calls = b"", [], 0
        try:
            port = self._port(profile / "DevToolsActivePort")
            listing = http.client.HTTPConnection("127.0.0.1", port, timeout=60)  # no proxy, unlike urllib
            listing.request("GET", "/json/list")
            page = next(t for t in json.loads(listing.getresponse().read()) if t["type"] == "page")
            listing.close()
            self.socket = socket.create_connection(("127.0.0.1", port), timeout=60)
            key = base64.b64encode(os.urandom(16)).decode()
            path = urllib.parse.urlsplit(page["webSocketDebuggerUrl"]).path
            self.socket.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                                f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13"
                                "\r\n\r\n".encode())
            while b"\r\n\r\n" not in self.buffer:
                self._receive()
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            assert head.startswith(b"HTTP/1.1 101"), head
            self.call("Page.enable")
            self.call("Emulation.setDeviceMetricsOverride", width=size[0], height=size[1], deviceScaleFactor=1,
                      mobile=False)
        except BaseException:
            self.close()
            raise

    def _port(self, written: Path) -> int:
        """The port Chromium chose, from the file it writes once it listens."""
        deadline = time.monotonic() + 60
        while len(lines := (written.read_text().splitlines() if written.is_file() else [])) < 2:
            if time.monotonic() > deadline or self.process.poll() is not None:
                pytest.fail("Chromium did not open its DevTools port within 60 s")
            time.sleep(0.05)
        return int(lines[0])

    def screenshot(self, url: str) -> bytes:
        """A PNG of the window once the page at `url` has loaded (and its script has run)."""
        self.events.clear()
        self.call("Page.navigate", url=url)
        while "Page.loadEventFired" not in self.events:
            self.events.append(self._message().get("method"))
        return base64.b64decode(self.call("Page.captureScreenshot", format="png", optimizeForSpeed=True)["data"])

    def call(self, method: str, **params: object) -> dict[str, Any]:
        """Send one command; the events that come before its answer are kept in self.events."""
        self.calls += 1
        data = json.dumps({"id": self.calls, "method": method, "params": params}).encode()
        size = len(data)
        length = bytes([0x80 | size]) if size < 126 else bytes([0x80 | 126]) + struct.pack(">H", size) \
            if size < 65536 else bytes([0x80 | 127]) + struct.pack(">Q", size)
        mask = os.urandom(4)  # a client masks what it sends
        self.socket.sendall(b"\x81" + length + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data)))
        while (message := self._message()).get("id") != self.calls:
            self.events.append(message.get("method"))
        assert "error" not in message, (method, message["error"])
        return cast(dict[str, Any], message["result"])

    def _message(self) -> dict[str, Any]:
        """The next message: text frames until the last of them (a server does not mask)."""
        data = b""
        while True:
            first, second = self._take(2)
            assert first & 0x0F in (0, 1), f"not a text frame: opcode {first & 0x0F}"
            size = second & 0x7F
            if size >= 126:
                size = struct.unpack(">H" if size == 126 else ">Q", self._take(2 if size == 126 else 8))[0]
            data += self._take(size)
            if first & 0x80:
                return cast(dict[str, Any], json.loads(data))

    def _take(self, size: int) -> bytes:
        while len(self.buffer) < size:
            self._receive()
        taken, self.buffer = self.buffer[:size], self.buffer[size:]
        return taken

    def _receive(self) -> None:
        chunk = self.socket.recv(1 << 16)
        if not chunk:
            raise ConnectionError("Chromium closed its DevTools connection")
        self.buffer += chunk

    def close(self) -> None:
        if hasattr(self, "socket"):
            self.socket.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# --- what the page shows ----------------------------------------------------------------------

@dataclass
class Entry:
    """One card of the gallery, as the DOM shows it after the page's script ran."""

    attrs: dict[str, str]
    front: str = ""
    back: str = ""
    answer_rule: bool = False
    sources: str = ""

    @property
    def hidden(self) -> bool:
        return "hidden" in self.attrs

    @property
    def muscles(self) -> list[str]:
        return self.attrs["data-muscles"].split()


class Gallery(HTMLParser):
    """The entries, faces and body of a dumped gallery page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.entries: list[Entry] = []
        self.faces: list[set[str]] = []
        self.body: dict[str, str] = {}
        self.body_classes: set[str] = set()
        self.none_hidden = False
        self._depth = 0
        self._in: dict[str, int] = {}  # what the parser is inside of, at which depth

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        classes = set(a.get("class", "").split())
        if tag == "body":
            self.body, self.body_classes = a, classes
        if tag == "article" and "pv-entry" in classes:
            self.entries.append(Entry(a))
        if "pv-face" in classes:
            self.faces.append(classes)
        if a.get("id") == "pv-none":
            self.none_hidden = "hidden" in a
        if tag == "hr" and a.get("id") == "answer" and "back" in self._in:
            self.entries[-1].answer_rule = True
        if tag in VOID:
            return
        self._depth += 1
        for name in ("pv-front", "pv-back", "md-sources"):
            if name in classes:
                self._in[name.removeprefix("pv-")] = self._depth

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        self._in = {k: d for k, d in self._in.items() if d != self._depth}
        self._depth -= 1

    def handle_data(self, data: str) -> None:
        if "front" in self._in:
            self.entries[-1].front += data
        if "back" in self._in:
            self.entries[-1].back += data
        if "md-sources" in self._in:
            self.entries[-1].sources += data

    def visible(self) -> list[Entry]:
        return [e for e in self.entries if not e.hidden]


def gallery(html: str) -> Gallery:
    parsed = Gallery()
    parsed.feed(html)
    parsed.close()
    for entry in parsed.entries:
        entry.front, entry.back = " ".join(entry.front.split()), " ".join(entry.back.split())
    assert parsed.entries, "the page shows no cards"
    return parsed


@pytest.fixture
def page(mini: Path, tmp_path: Path) -> Path:
    """The preview of the sample deck, built with the real templates."""
    return write_preview(mini, TEMPLATES, tmp_path / "preview", Selection()).index


# --- the page, in the browser -----------------------------------------------------------------

def test_cards_show_front_and_back(page: Path, tmp_path: Path) -> None:
    shown = gallery(chromium(page, "", tmp_path, "--dump-dom"))
    assert shown.visible() == shown.entries  # no search: every card is shown
    assert shown.body["data-shown"] == shown.body["data-total"] == str(len(shown.entries))
    origin = [e for e in shown.entries if "Origin of the" in e.front and "gluteus medius" in e.front]
    assert len(origin) == 1, [e.front for e in shown.entries]
    card = origin[0]
    assert card.attrs["data-key"] == "gluteus-medius/origin"
    assert card.attrs["data-visible"] == "true"
    # The back is the note type's back.html: the front, <hr id=answer>, the answer, the sources.
    assert card.back.startswith(card.front)
    assert "External surface of the ilium" in card.back
    assert card.answer_rule
    assert "Moore" in card.sources
    # Every face is a .card, as Anki's card body is, so style.css applies unchanged.
    assert len(shown.faces) == 2 * len(shown.entries)
    assert all("card" in face for face in shown.faces)


@pytest.mark.parametrize(("query", "wanted"), [
    ("biceps", {"biceps-femoris"}),
    ("BICEPS%20femoris", {"biceps-femoris"}),   # case-insensitive, every word must match
    ("gluteus-minimus", {"gluteus-minimus"}),   # by id
    ("medius", {"gluteus-medius"}),
])
def test_search_filters_cards(page: Path, tmp_path: Path, query: str, wanted: set[str]) -> None:
    shown = gallery(chromium(page, f"?q={query}", tmp_path, "--dump-dom"))
    visible = shown.visible()
    assert visible, "the search hid every card"
    for entry in shown.entries:
        matches = bool(wanted & set(entry.muscles))
        assert entry.hidden is not matches, entry.attrs
        assert entry.attrs["data-visible"] == ("true" if matches else "false")
    assert len(visible) < len(shown.entries)
    assert shown.body["data-shown"] == str(len(visible))
    assert shown.none_hidden


def test_search_finds_aliases_and_says_when_nothing_matches(mini: Path, tmp_path: Path) -> None:
    fact = mini / "lower-limb" / "gluteal" / "gluteus-medius.yaml"
    fact.write_text(fact.read_text(encoding="utf-8").replace("name: Gluteus medius\n",
                                             "name: Gluteus medius\naliases: [Middle gluteal]\n"))
    index = write_preview(mini, TEMPLATES, tmp_path / "preview", Selection()).index
    shown = gallery(chromium(index, "?q=middle%20glut", tmp_path, "--dump-dom"))
    assert {m for e in shown.visible() for m in e.muscles} >= {"gluteus-medius"}
    assert all("gluteus-medius" in e.muscles for e in shown.visible())
    nothing = gallery(chromium(index, "?q=deltoid", tmp_path, "--dump-dom"))
    assert nothing.visible() == []
    assert nothing.body["data-shown"] == "0"
    assert not nothing.none_hidden  # "No card matches this search."


@pytest.mark.parametrize("night", [True, False], ids=["night", "light"])
def test_night_mode(page: Path, tmp_path: Path, night: bool) -> None:
    query = "?night=1" if night else ""
    shown = gallery(chromium(page, query, tmp_path, "--dump-dom"))
    for classes in [shown.body_classes, *shown.faces]:
        assert ("nightMode" in classes) is night, classes
        assert ("night_mode" in classes) is night, classes
    assert shown.body["data-night"] == ("1" if night else "0")

    # The pixels: the cards are painted in style.css's card background of that mode.
    light_bg, night_bg = card_backgrounds((TEMPLATES / "style.css").read_text(encoding="utf-8"))
    assert luma(light_bg) > 180 and luma(night_bg) < 80
    shot = tmp_path / "shot.png"
    chromium(page, query, tmp_path, f"--screenshot={shot}", "--window-size=1000,1400")
    width, rows = png_rows(shot.read_bytes(), limit=600)
    pixels = [p for row in rows for p in row]
    count = {colour: pixels.count(colour) for colour in (light_bg, night_bg)}
    want, other = (night_bg, light_bg) if night else (light_bg, night_bg)
    assert count[want] > len(pixels) // 10, count  # the card area is in this mode's colour
    assert count[other] < len(pixels) // 1000, count  # (text may anti-alias to it)
    # The left column, below the header, crosses the front faces.
    assert want in [row[width // 4] for row in rows[150:]], "no card under the left column"


# --- the command and the file -----------------------------------------------------------------

def test_command_writes_the_page(mini: Path, tmp_path: Path) -> None:
    out = tmp_path / "site"
    result = CliRunner().invoke(main, ["preview", "--decks", str(mini), "-o", str(out),
                                       "--muscle", "gluteus-minimus", "--card", "origin",
                                       "--card", "insertion"])
    assert result.exit_code == 0, result.output
    assert result.stdout == f"Wrote {out / 'index.html'}: 2 cards\n"
    html = (out / "index.html").read_text(encoding="utf-8")
    keys = re.findall(r'data-key="([^"]+)"', html)
    assert keys == ["gluteus-minimus/origin", "gluteus-minimus/insertion"]
    assert (TEMPLATES / "style.css").read_text(encoding="utf-8") in html  # verbatim
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)  # nothing external
    assert [p.name for p in out.iterdir()] == ["index.html"]  # no temporary file left


def test_command_reports_bad_filters(mini: Path, tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["preview", "--decks", str(mini), "-o", str(tmp_path / "x"),
                                       "--region", "head"])
    assert result.exit_code == 1
    assert "--region 'head' matches nothing" in result.output
    assert not (tmp_path / "x").exists()


def test_page_is_reproducible_and_escapes_facts(mini: Path, tmp_path: Path) -> None:
    first = write_preview(mini, TEMPLATES, tmp_path / "a", Selection()).index.read_bytes()
    again = write_preview(mini, TEMPLATES, tmp_path / "a", Selection()).index.read_bytes()
    assert first == again
    fact = mini / "lower-limb" / "gluteal" / "gluteus-medius.yaml"
    fact.write_text(fact.read_text(encoding="utf-8").replace("name: Gluteus medius\n",
                                             "name: Gluteus medius\naliases: ['<script>x</script>']\n"))
    html = write_preview(mini, TEMPLATES, tmp_path / "b", Selection()).index.read_text(encoding="utf-8")
    assert "<script>x</script>" not in html
    assert "&lt;script&gt;x&lt;/script&gt;" in html


def test_refuses_to_write_into_the_sources(mini: Path) -> None:
    with pytest.raises(OutputError, match="inside"):
        write_preview(mini, TEMPLATES, mini / "preview", Selection())
    with pytest.raises(OutputError, match="inside"):
        write_preview(mini, TEMPLATES, TEMPLATES / "preview", Selection())
    assert (ROOT / "templates" / "preview" / "index.html").read_text(encoding="utf-8").startswith("{#")  # untouched


# --- pixels, without Pillow -------------------------------------------------------------------

def card_backgrounds(css: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The .card background colours of style.css: (light, night)."""
    light = re.search(r"(?m)^\.card\s*\{[^}]*background-color:\s*#([0-9a-fA-F]{6})", css)
    night = re.search(r"\.nightMode\.card[^{]*\{[^}]*background-color:\s*#([0-9a-fA-F]{6})", css)
    assert light and night, "style.css no longer sets the .card background of both modes"
    return rgb(light.group(1)), rgb(night.group(1))


def rgb(hex_colour: str) -> tuple[int, int, int]:
    r, g, b = bytes.fromhex(hex_colour)
    return r, g, b


def luma(colour: tuple[int, int, int]) -> float:
    r, g, b = colour
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def png_rows(data: bytes, limit: int) -> tuple[int, list[list[tuple[int, int, int]]]]:
    """The width and the first `limit` rows of RGB pixels of an 8-bit RGB(A) PNG."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat = 8, b""
    header = (0, 0, 0, 0, 0)
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        chunk = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunk)
            header = (width, height, depth, colour, interlace)
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    width, height, depth, colour, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    channels = 3 if colour == 2 else 4
    stride = width * channels
    raw = zlib.decompress(idat)
    previous = bytearray(stride)
    rows = []
    for y in range(min(limit, height)):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 2:  # "up": every row of a screenshot taken with optimizeForSpeed
            line = bytearray((a + b) & 0xFF for a, b in zip(line, previous, strict=True))
        for i in range(stride if kind in (1, 3, 4) else 0):
            left = line[i - channels] if i >= channels else 0
            up = previous[i]
            if kind == 1:
                line[i] = (line[i] + left) & 0xFF
            elif kind == 3:
                line[i] = (line[i] + (left + up) // 2) & 0xFF
            elif kind == 4:
                corner = previous[i - channels] if i >= channels else 0
                p = left + up - corner
                pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                line[i] = (line[i] + (left if pa <= pb and pa <= pc else up if pb <= pc else corner)) & 0xFF
        rows.append(list(zip(line[0::channels], line[1::channels], line[2::channels], strict=True)))
        previous = line
    return width, rows


# --- phone width: the answer above the fold -----------------------------------------------------

# A phone of 390 × 844 CSS pixels (iPhone 12 to 15), less what Anki's own bars and answer
# buttons take on AnkiDroid and AnkiMobile: the answer must end within the first 600 pixels.
PHONE = (390, 844)
FOLD = 600


@pytest.fixture(scope="module")
def phone_dom(tmp_path_factory: pytest.TempPathFactory) -> str:
    """The whole deck's gallery as a phone-wide window lays it out (written and dumped once)."""
    folder = tmp_path_factory.mktemp("phone")
    index = write_preview(ROOT / "decks", TEMPLATES, folder / "preview", Selection()).index
    return chromium(index, "", folder, "--dump-dom", f"--window-size={PHONE[0]},{PHONE[1]}",
                    "--virtual-time-budget=10000")


def test_every_answer_ends_above_a_phones_fold(phone_dom: str) -> None:
    ends = [(int(end), key) for key, end in
            re.findall(r'data-key="([^"]+)"[^>]*data-answer-end="(\d+)"', phone_dom)]
    assert len(ends) == phone_dom.count('class="pv-entry"') > 900
    late = [(end, key) for end, key in ends if end > FOLD]
    assert not late, sorted(late)[-5:]


@pytest.fixture(scope="module")
def phone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    """One Chromium, its window a phone's, for every screenshot."""
    session = DevTools(tmp_path_factory.mktemp("chromium") / "profile", PHONE)
    try:
        yield session
    finally:
        session.close()


@pytest.mark.parametrize("night", [False, True], ids=["light", "night"])
def test_phone_screenshots_show_the_answer_of_every_card_kind(phone_dom: str, phone: DevTools, tmp_path: Path,
                                                              night: bool) -> None:
    longest: dict[str, tuple[int, str, str]] = {}  # kind → where its longest answer ends, its key, a muscle
    for key, kind, muscles, end in re.findall(
            r'data-key="([^"]+)" data-kind="([^"]+)" data-muscles="([^"]+)"[^>]*data-answer-end="(\d+)"', phone_dom):
        longest[kind] = max(longest.get(kind, (0, "", "")), (int(end), key, muscles.split()[0]))
    assert set(longest) == {k.name for k in KINDS} - ({"location"} if "location" not in longest else set())
    # A gallery of just those cards' muscles: a card shows the same alone on it, and Chromium
    # loads it in a fraction of the time the whole deck's takes.
    muscles = tuple(sorted({muscle for _, _, muscle in longest.values()}))
    index = write_preview(ROOT / "decks", TEMPLATES, tmp_path / "preview", Selection(muscles=muscles)).index
    light_bg, night_bg = card_backgrounds((TEMPLATES / "style.css").read_text(encoding="utf-8"))
    background = night_bg if night else light_bg
    keep = os.environ.get("MUSCLE_DECK_SCREENSHOTS")  # a folder to keep the pictures in, to look at them
    shown = sorted(longest.items())
    if night:  # every kind in light mode; night mode's own colours on every other kind and the picture card
        shown = [(kind, found) for i, (kind, found) in enumerate(shown) if i % 2 == 0 or kind == "location"]
    for kind, (end, key, _) in shown:
        query = f"?card={key}" + ("&night=1" if night else "")
        picture = phone.screenshot(index.resolve().as_uri() + query)
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            (Path(keep) / f"{kind}-{'night' if night else 'light'}.png").write_bytes(picture)
        width, rows = png_rows(picture, limit=PHONE[1])
        assert width == PHONE[0]
        pixels = [p for row in rows for p in row]
        share = 4 if kind == "location" else 2  # the location card's picture fills much of the screen
        assert pixels.count(background) > len(pixels) // share, (kind, "not this mode's card background")
        # the last line of the answer is in the picture, above the fold: ink just above its end (the
        # gallery measured it with a scroll bar, a line or so lower than this card alone)
        assert end <= FOLD, (kind, key, end)
        ink = [p for row in rows[end - 60:end] for p in row if p != background]
        assert len(ink) > 30, (kind, key, "no text where the answer ends")
