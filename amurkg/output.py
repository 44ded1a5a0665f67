"""Writing results: to stdout, or atomically to a file (a temporary file renamed into place).

A file being written is a temporary file beside the target until it is complete; if anything goes wrong,
or the process is interrupted or stopped by a limit (see ``amurkg.limits``), the temporary file is removed
and the target is untouched. Readers see the old file or the whole new one, never a part.
"""

from __future__ import annotations

import io
import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from amurkg.errors import FormatError, OutputError
from amurkg.limits import register_temporary, release_temporary

#: Result format implied by an output file's extension, when --format is not given.
RESULT_FORMAT_BY_EXTENSION = {
    ".csv": "csv",
    ".tsv": "tsv",
    ".json": "json",
    ".srj": "json",
    ".xml": "xml",
    ".srx": "xml",
    ".md": "md",
    ".txt": "table",
}
RDF_FORMAT_BY_EXTENSION = {
    ".ttl": "ttl",
    ".nt": "nt",
    ".nq": "nq",
    ".trig": "trig",
    ".jsonld": "jsonld",
    ".json": "jsonld",
    ".rdf": "xml",
    ".xml": "xml",
    ".owl": "xml",
}


def choose_format(given: str | None, output: Path | None, by_extension: dict[str, str], default: str, kind: str) -> str:
    """The format to write: ``given`` when the user named one (an explicit format wins over the extension, so
    ``-f ttl -o /dev/stdout`` or ``-f csv -o answer.txt`` write what was asked), else the output file's
    extension's, else ``default``. Without ``given``, an extension that does not name a format of this
    ``kind`` of answer is an error."""
    if output is None:
        return given or default
    _check_target(output)
    if given is not None:
        return given
    suffix = output.suffix.lower()
    implied = by_extension.get(suffix)
    if implied is None:
        known = ", ".join(sorted(by_extension))
        raise FormatError(
            f"{output}: the extension {suffix or '(none)'!r} does not name a format for {kind}; use one of {known}"
        )
    return implied


# ------------------------------------------------------------------------------ readers to protect

#: Characters a terminal acts on instead of showing: C0 and C1 controls (ESC starts the sequences that move
#: the cursor, clear the screen, set the window title...), DEL, and the bidirectional overrides and isolates
#: that make text read in another order than it is stored.
_TERMINAL_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_TERMINAL_UNSAFE_KEEP_LINES = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _visible(m: re.Match[str]) -> str:
    code = ord(m.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str, keep_lines: bool = False) -> str:
    """``text`` as a person's terminal may show it: every control character (and bidirectional override) is
    written as a visible escape such as ``\\x1b``, so data can neither move the cursor, clear the screen nor
    hide text; with ``keep_lines``, line breaks stay line breaks. Used for every human-facing output: tables,
    Markdown, descriptions and messages."""
    pattern = _TERMINAL_UNSAFE_KEEP_LINES if keep_lines else _TERMINAL_UNSAFE
    if _SURROGATE.search(text):  # a file name in bytes that are not UTF-8: its bytes, as \xff
        text = _SURROGATE.sub(_byte, text)
    return pattern.sub(_visible, text) if pattern.search(text) else text


_SURROGATE = re.compile("[\ud800-\udfff]")


def _byte(m: re.Match[str]) -> str:
    code = ord(m.group(0))
    return f"\\x{code - 0xDC00:02x}" if 0xDC80 <= code <= 0xDCFF else f"\\u{code:04x}"


#: What a data format written to a terminal (TSV, CSV, JSON, N-Triples...) may not pass on: the controls a table
#: escapes, but tab and line feed, which lay the format out.
_TERMINAL_UNSAFE_DATA = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def _is_terminal(stream: Any) -> bool:
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError, OSError):
        return False


class _TerminalText(io.RawIOBase):
    """Standard output on a terminal, for any format: the UTF-8 written is shown with every control character
    (escape sequences that set a window's title, clear the screen or hide text; carriage returns that overwrite a
    line; bidirectional overrides) written as a visible escape, as tables show them, and tab and line feed kept.
    A file or a pipe gets the bytes as they are."""

    def __init__(self, stream: Any) -> None:
        import codecs

        super().__init__()
        self.stream = stream
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        chunk = bytes(data)
        text = self.decoder.decode(chunk)
        if _TERMINAL_UNSAFE_DATA.search(text):
            text = _TERMINAL_UNSAFE_DATA.sub(_visible, text)
        self.stream.write(text.encode("utf-8"))
        return len(chunk)

    def flush(self) -> None:
        self.stream.flush()

    def finish(self) -> None:
        """Write what is left of a character cut between two writes (an answer that ends inside one)."""
        rest = self.decoder.decode(b"", final=True)
        if rest:
            self.stream.write(_TERMINAL_UNSAFE_DATA.sub(_visible, rest).encode("utf-8"))
        self.stream.flush()


def wrote_message(path: Path | str | None, what: str = "", detail: str = "") -> str:
    """The one line every command prints on stderr once its output is written: ``amurkg: wrote PATH``, then what
    was written in brackets and a summary after a colon (``amurkg: wrote survey.zip (a Darwin Core Archive): 9
    occurrences``); ``standard output`` for no path. The line as a terminal may show it: a file name may hold
    control characters."""
    line = f"amurkg: wrote {'standard output' if path is None else path}"
    if what:
        line += f" ({what})"
    if detail:
        line += f": {detail}"
    return terminal_safe(line)


#: First characters that make a spreadsheet read a cell as a formula (OWASP, CSV injection), tab and CR included.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?")


def spreadsheet_cell(value: str) -> str:
    """``value`` made safe for a spreadsheet (OWASP's CSV-injection advice): a cell that a spreadsheet would
    run as a formula (starting with ``= + - @``, tab or CR) gets a leading apostrophe, which spreadsheets
    show as text; numbers (``-1.5``, ``+3``, ``-2e3``) stay numbers."""
    if value.startswith(_FORMULA_START) and _NUMBER.fullmatch(value) is None:
        return "'" + value
    return value


def spreadsheet_safe_default(output: Path | None) -> bool:
    """Whether CSV and TSV are neutralised for spreadsheets when the user did not say: yes for a file (a
    person is likely to open it), no for standard output, a pipe or a device (a program is likely to read
    it: the W3C formats, exact)."""
    return output is not None and not (output.exists() and not Path(os.path.realpath(output)).is_file())


def _check_target(path: Path) -> Path:
    folder = path.parent if str(path.parent) else Path(".")
    if not folder.is_dir():
        raise OutputError(f"cannot write {path}: the folder {folder} does not exist; create it or choose another path")
    if path.is_dir():
        raise OutputError(f"cannot write {path}: it is a folder; give a file name")
    return folder


@contextmanager
def open_output(path: Path | None) -> Iterator[BinaryIO]:
    """A binary stream to write an answer to: standard output, or a temporary file renamed onto ``path``
    only when the block completes."""
    if path is None:
        stream = sys.stdout.buffer if hasattr(sys.stdout, "buffer") else None
        if stream is None:  # a text-only stdout (some notebook front ends)
            import io

            buffer = io.BytesIO()
            yield buffer
            sys.stdout.write(buffer.getvalue().decode("utf-8"))
            return
        try:
            if _is_terminal(stream):  # a person reads it: nothing the data holds may drive the terminal
                shown = _TerminalText(stream)
                yield shown  # type: ignore[misc]
                shown.finish()
            else:
                yield stream
            stream.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:  # a full disk behind a redirection (> /dev/full), a closed terminal...
            _drop_stdout()
            reason = (exc.strerror or str(exc)).lower()
            raise OutputError(f"cannot write to standard output: {reason}; write to a file with -o instead") from None
        return
    import tempfile

    from amurkg.limits import supervise

    supervise()  # a signal from here on removes the temporary file, whatever the command
    real = Path(os.path.realpath(path))
    if path.exists() and not real.is_file():  # a device, a pipe, a terminal (/dev/stdout): nothing to replace
        with _special(path) as handle:
            yield handle
        return
    if real != path.absolute():  # a link: replace the file it names, never the link itself
        path = real
    folder = _check_target(path)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=folder)
    except OSError as exc:
        reason = (exc.strerror or str(exc)).lower()
        raise OutputError(f"cannot write {path}: {reason}; choose a folder you can write to") from None
    tmp = Path(name)
    register_temporary(tmp)
    try:
        # mkstemp creates the file private (0600); give it the mode a plain open() would have had,
        # or keep the mode of the file it replaces
        os.chmod(tmp, path.stat().st_mode & 0o7777 if path.exists() else 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise OutputError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    finally:
        release_temporary(tmp)


@contextmanager
def _special(path: Path) -> Iterator[BinaryIO]:
    """Write straight into something that is not a regular file (``/dev/stdout``, a named pipe)."""
    try:
        with open(path, "wb") as handle:
            yield handle
    except BrokenPipeError:
        raise
    except OSError as exc:
        raise OutputError(f"cannot write {path}: {(exc.strerror or str(exc)).lower()}") from None


def _drop_stdout() -> None:
    """Send what is still buffered for standard output nowhere: it cannot be written, and flushing it again at
    exit would print a second error (a traceback from the interpreter's shutdown)."""
    import contextlib

    with contextlib.suppress(OSError, ValueError, AttributeError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the whole new one, never a part."""
    with open_output(path) as handle:
        handle.write(data)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def emit(data: str | bytes, path: Path | None) -> None:
    """Send output to ``path`` (atomically) or to standard output."""
    with open_output(path) as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
