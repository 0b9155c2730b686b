import gc
import json

from runner import jsonline
from runner.collector import YOUNG_THRESHOLD, settings_for_a_run


def test_one_compact_utf8_line_in_key_order() -> None:
    entry = {"b": 1, "a": "naïve\nline", "c": [{"ms": 3.1}], "d": None}
    out = jsonline.dumps(entry)
    assert b"\n" not in out
    assert out.decode("utf-8").startswith('{"b":1,"a":"naïve\\nline"')
    assert json.loads(out) == entry


def test_lone_surrogate_is_escaped_not_refused() -> None:
    # What json.loads makes of a server's "\ud800": no UTF-8 form exists for it.
    detail = json.loads('"bad \\ud800 text"')
    out = jsonline.dumps({"detail": detail})
    assert b"\\ud800" in out
    out.decode("utf-8")  # valid UTF-8 whatever the string held
    assert json.loads(out) == {"detail": detail}


def test_collector_settings_last_for_the_run_only() -> None:
    before = gc.get_threshold()
    frozen_before = gc.get_freeze_count()
    with settings_for_a_run():
        assert gc.get_threshold()[0] >= YOUNG_THRESHOLD
        assert gc.get_freeze_count() > frozen_before
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
