"""What a playlist file may hold: larger is refused (FormatError), never read into memory."""

MAX_ENTRIES = 100_000
MAX_LINE_BYTES = 1 << 20
