import pytest

from textcast.domain.encoding import Encoding, segment


@pytest.mark.parametrize(
    ("body", "encoding", "parts"),
    [
        ("a" * 160, Encoding.GSM7, 1),
        ("a" * 161, Encoding.GSM7, 2),
        ("a" * 306, Encoding.GSM7, 2),
        ("a" * 307, Encoding.GSM7, 3),
        ("€" * 80, Encoding.GSM7, 1),  # extension characters count two
        ("€" * 81, Encoding.GSM7, 2),
        ("a" * 159 + "^", Encoding.GSM7, 2),
        ("á" * 70, Encoding.UCS2, 1),
        ("á" * 71, Encoding.UCS2, 2),
        ("á" * 134, Encoding.UCS2, 2),
        ("á" * 135, Encoding.UCS2, 3),
        ("😀" * 35, Encoding.UCS2, 1),  # each emoji is two UTF-16 units
        ("😀" * 36, Encoding.UCS2, 2),
        ("Ç ok", Encoding.GSM7, 1),
        ("ç no", Encoding.UCS2, 1),
    ],
)
def test_counts_parts_like_sinch(body: str, encoding: Encoding, parts: int) -> None:
    info = segment(body)
    assert (info.encoding, info.parts) == (encoding, parts)


def test_reports_room_left_in_the_last_part() -> None:
    assert segment("a" * 150).remaining == 10
    assert segment("a" * 161).remaining == 2 * 153 - 161
