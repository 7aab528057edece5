"""The evaluation harness's own logic (bench/matching): reading the pairs, undoing their tokenisation,
classing them, and the metrics.

``make test`` collects libs/ and services/ only, and the repository root is not on the import path of a
test, so the harness modules are loaded from their files (they import nothing of ``bench``).
"""

from __future__ import annotations

import csv
import importlib.util
import io
import sys
from pathlib import Path
from types import ModuleType

import pytest

from pm_matching import TrackInfo

BENCH = Path(__file__).resolve().parents[4] / "bench" / "matching"


def _load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"_bench_matching_{name}", BENCH / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


pairs = _load("pairs")
metrics = _load("metrics")


@pytest.mark.parametrize(
    ("tokenised", "display"),
    [
        (
            "I 'm a Machine ( feat . Crystal Nicole and Tyrese Gibson )",
            "I'm a Machine (feat. Crystal Nicole and Tyrese Gibson)",
        ),
        ("I Ai n't Livin ' Long Like This", "I Ain't Livin' Long Like This"),
        ("I Do n't Believe You ( Main Version )", "I Don't Believe You (Main Version)"),
        ("$ 1.29", "$1.29"),
        (
            "Titanium ( feat . Sia ) [ Cazzette 's Ant Seeking Hamster Mix ]",
            "Titanium (feat. Sia) [Cazzette's Ant Seeking Hamster Mix]",
        ),
        ("One Mississippi ( Live from CMT `` Listen Up '' )", 'One Mississippi (Live from CMT "Listen Up")'),
        ("Caught In The Act : Live", "Caught In The Act: Live"),
        ("Crack In the Pearl , Pt . II", "Crack In the Pearl, Pt. II"),
        ("Turn Around ( 5,4,3,2,1 )", "Turn Around (5,4,3,2,1)"),
        ("Halcyon", "Halcyon"),
    ],
)
def test_detokenise(tokenised: str, display: str) -> None:
    assert pairs.detokenise(tokenised) == display


@pytest.mark.parametrize(
    ("value", "ms"), [("3:33", 213_000), ("0:59", 59_000), ("1:02:03", 3_723_000), ("", None), ("n/a", None)]
)
def test_parse_time(value: str, ms: int | None) -> None:
    assert pairs.parse_time(value) == ms


def _row(label: str, itunes: tuple[str, str, str, str], amazon: tuple[str, str, str, str]) -> dict[str, str]:
    row = {"split": "train", "label": label}
    for side, (song, artist, album, time) in (("itunes", itunes), ("amazon", amazon)):
        row |= {
            f"{side}_Song_Name": song,
            f"{side}_Artist_Name": artist,
            f"{side}_Album_Name": album,
            f"{side}_Time": time,
        }
    return row


def test_read_pairs_takes_itunes_as_source_and_classes_each_pair() -> None:
    rows = [
        _row(
            "1",
            ("Silver and Gold", "Little Big Town", "Pain Killer", "3:33"),
            ("Silver And Gold", "Little Big Town", "Pain Killer", "3:31"),
        ),
        _row(
            "1",
            ("Fly Solo", "Wiz Khalifa", "Rolling Papers", "3:20"),
            ("Fly Solo [ Clean ]", "Wiz Khalifa", "Rolling Papers", "3:20"),
        ),
        _row(
            "0",
            ("Autonomy ( Cold Blank Mix )", "Zedd", "Autonomy - EP", "4:59"),
            ("Autonomy ( Lucky Date Mix )", "Zedd", "Zedd - Autonomy", "5:59"),
        ),
        _row(
            "0",
            ("Little White Lies", "One Direction", "Midnight Memories", "3:17"),
            ("Little Black Dress", "One Direction", "Midnight Memories", "2:37"),
        ),
        _row(
            "0",
            ("Halcyon", "Ellie Goulding", "Halcyon", "3:24"),
            ("Goner", "twenty one pilots", "Blurryface", "3:56"),
        ),
    ]
    read = pairs.read_pairs(rows)
    assert read[0].source == TrackInfo("Silver and Gold", ("Little Big Town",), "Pain Killer", 213_000)
    assert read[0].candidate.duration_ms == 211_000
    assert [p.label for p in read] == [True, True, False, False, False]
    assert [p.kind for p in read] == [
        pairs.PairClass.MATCH_SAME_TITLE,
        pairs.PairClass.MATCH_TITLE_DIFFERS,
        pairs.PairClass.OTHER_VERSION,
        pairs.PairClass.NEAR_MISS,
        pairs.PairClass.OTHER,
    ]


def test_load_pairs_reads_the_copied_file_and_filters_the_split(tmp_path: Path) -> None:
    every = pairs.load_pairs()
    assert len(every) == 430
    assert sum(p.label for p in every) == 105
    assert len(pairs.load_pairs(split="train")) == 321
    assert len(pairs.load_pairs(split="valid")) == 109
    # Any file in the layout is read.
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(_row("1", ("a", "b", "c", "1:00"), ("a", "b", "c", "1:00"))))
    writer.writeheader()
    writer.writerow(_row("1", ("a", "b", "c", "1:00"), ("a", "b", "c", "1:00")))
    path = tmp_path / "pairs.csv"
    path.write_text(out.getvalue())
    assert len(pairs.load_pairs(path)) == 1


def test_the_copied_data_keeps_its_source_and_licence() -> None:
    folder = BENCH / "data" / "itunes-amazon"
    assert (folder / "SOURCE.md").is_file()
    assert (folder / "LICENSE.ditto-Apache-2.0.txt").is_file()


def test_counts_give_precision_recall_and_f1() -> None:
    counts = metrics.Counts()
    for label, predicted in (
        [(True, True)] * 8 + [(False, True)] * 2 + [(True, False)] * 2 + [(False, False)] * 5
    ):
        counts.add(label, predicted)
    counts.add(True, False, review=True)
    assert (counts.tp, counts.fp, counts.fn, counts.tn, counts.total) == (8, 2, 3, 5, 18)
    assert counts.precision == pytest.approx(0.8)
    assert counts.recall == pytest.approx(8 / 11)
    assert counts.f1 == pytest.approx(2 * 0.8 * (8 / 11) / (0.8 + 8 / 11))
    assert (counts.review, counts.review_matches) == (1, 1)


def test_undefined_metrics_are_none() -> None:
    counts = metrics.Counts()
    counts.add(False, False)
    assert (counts.precision, counts.recall, counts.f1) == (None, None, None)
    assert metrics.fmt(None).strip() == "n/a"
    assert metrics.fmt(0.98765) == "0.988"


def test_the_baseline_is_a_plain_fuzzy_match() -> None:
    same = TrackInfo("Silver and Gold", ("Little Big Town",))
    assert metrics.baseline_match(same, TrackInfo("Silver And Gold", ("Little Big Town",)))
    assert not metrics.baseline_match(same, TrackInfo("Halcyon", ("Little Big Town",)))
    # The baseline cannot tell a live recording from the original: what the matcher is for.
    song = "My Songs Know What You Did In The Dark (Light Em Up)"
    fob = ("Fall Out Boy",)
    assert metrics.baseline_match(TrackInfo(song, fob), TrackInfo(f"{song} (Live)", fob))
