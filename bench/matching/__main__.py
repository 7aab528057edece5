"""``python -m bench.matching``: how well the track matcher (libs/matching) matches, against labels.

1. **Labelled pairs** (default): ``python -m bench.matching [PAIRS_CSV] [--split train|valid|all]`` reads
   the iTunes-Amazon pairs (bench/matching/data/itunes-amazon/pairs.csv unless another file in that layout
   is given), scores each Amazon song (candidate) against its iTunes song (source), predicts a match when
   the verdict is ACCEPT, and prints precision, recall and F1 overall, per split and per difficulty class
   (bench/matching/pairs.py ``PairClass``), beside a peer-style baseline (title and artist fuzzy ratio ≥ 80).
   Pairs sent to REVIEW count as no-match; how many there were is printed apart. Then the mean µs per
   ``score()`` call, with cold caches (every title parsed afresh) and warm.
2. **Catalogs**: ``python -m bench.matching --catalogs [--target deezer|tidal|youtube] [--limit N]`` runs a
   transfer's search and decision for N Spotify tracks of the provider emulator's catalogs on each target
   (bench/matching/catalogs.py) and prints precision and recall against the known truth.

Nothing is written; no server is needed.
"""

from __future__ import annotations

import argparse
import time
from collections import defaultdict
from pathlib import Path

from bench.matching import catalogs as catalog_bench
from bench.matching.metrics import Counts, baseline_match, fmt
from bench.matching.pairs import DEFAULT_PAIRS, Pair, PairClass, load_pairs
from pm_matching import ACCEPT_AT, REVIEW_AT, Verdict, clear_caches, score


def evaluate_pairs(pairs: list[Pair]) -> tuple[dict[str, Counts], dict[str, Counts], list[str]]:
    """Counts of the matcher and of the baseline, keyed "all", "split:<name>" and each class; and the
    pairs the matcher got wrong, described."""
    matcher: dict[str, Counts] = defaultdict(Counts)
    baseline: dict[str, Counts] = defaultdict(Counts)
    wrong: list[str] = []
    for pair in pairs:
        s = score(pair.source, pair.candidate)
        predicted = s.verdict is Verdict.ACCEPT
        review = s.verdict is Verdict.REVIEW
        base = baseline_match(pair.source, pair.candidate)
        keys = ["all", f"split:{pair.split}", pair.kind.value]
        if pair.label and s.breakdown["version"] == 0.0:
            # Labelled a match, but the titles name different recordings (a remix and the original, two
            # remixers, live and studio): the product's rule refuses these, whatever the label says.
            keys.append(VERSION_RULE)
        else:
            keys.append(WITHOUT_CONFLICTS)
        for key in keys:
            matcher[key].add(pair.label, predicted, review=review)
            baseline[key].add(pair.label, base)
        if predicted != pair.label:
            wrong.append(
                f"{'FP' if predicted else 'FN'} [{pair.split}] {s.confidence:.3f} {s.verdict.value}: "
                f"{pair.source.title!r} ({pair.source.artists[0]}, {_secs(pair.source.duration_ms)}) vs "
                f"{pair.candidate.title!r} ({pair.candidate.artists[0]}, {_secs(pair.candidate.duration_ms)}): "
                f"{'; '.join(s.reasons[:3])}"
            )
    return matcher, baseline, wrong


VERSION_RULE = "labelled match, version rule refuses"
WITHOUT_CONFLICTS = "all but those"


def _secs(ms: int | None) -> str:
    return f"{ms // 1000} s" if ms else "?"


def time_scores(pairs: list[Pair], rounds: int = 20) -> tuple[float, float]:
    """µs per score() call, the mean over all pairs in the fastest of ``rounds`` rounds (timeit's practice:
    slower rounds measure the machine's other work): with every cache cleared before the round (cold: each
    title parsed afresh, as for a new source and new candidates), and warm."""
    cold: list[float] = []
    warm: list[float] = []
    for _ in range(rounds):
        clear_caches()
        for timings in (cold, warm):
            started = time.perf_counter()
            for pair in pairs:
                score(pair.source, pair.candidate)
            timings.append(time.perf_counter() - started)
    return min(cold) / len(pairs) * 1e6, min(warm) / len(pairs) * 1e6


def _row(name: str, m: Counts, b: Counts) -> str:
    return (
        f"  {name:40} {m.total:5}  {fmt(m.precision)}  {fmt(m.recall)}  {fmt(m.f1)}  {m.fp:3}  {m.review:4} "
        f"({m.review_matches:2})   {fmt(b.precision)}  {fmt(b.recall)}  {fmt(b.f1)}  {b.fp:3}"
    )


def run_pairs(path: Path, split: str, show: int) -> None:
    pairs = load_pairs(path, split)
    if not pairs:
        raise SystemExit(f"no pairs of split {split!r} in {path}")
    matcher, baseline, wrong = evaluate_pairs(pairs)
    print(
        f"Labelled pairs: {path} (split {split}, {len(pairs)} pairs, {sum(p.label for p in pairs)} matches)"
    )
    print(f"Matcher: match = ACCEPT (confidence ≥ {ACCEPT_AT}); REVIEW (≥ {REVIEW_AT}) counts as no-match.")
    print("Baseline: title and artist rapidfuzz ratio ≥ 80 on lower-cased strings.\n")
    print(
        f"  {'':40} {'pairs':>5}  {'prec':>5}  {'rec':>5}  {'F1':>5}  {'FP':>3}  review(matches)   "
        f"{'base P':>5}  {'base R':>5}  {'base F1':>5}  {'FP':>3}"
    )
    for key in ("all", "split:train", "split:valid"):
        if key in matcher:
            print(_row(key, matcher[key], baseline[key]))
    print("  labels against the product's version rule:")
    for key in (VERSION_RULE, WITHOUT_CONFLICTS):
        if key in matcher:
            print(_row(key, matcher[key], baseline[key]))
    print("  per class:")
    for kind in PairClass:
        if kind.value in matcher:
            print(_row(kind.value, matcher[kind.value], baseline[kind.value]))
    cold, warm = time_scores(pairs)
    print(
        f"\nscore(): {cold:.1f} µs per call with cold caches, {warm:.1f} µs warm (mean over the {len(pairs)} pairs, fastest of 20 rounds)"
    )
    if show and wrong:
        print(f"\nThe matcher's errors ({len(wrong)}):")
        for line in wrong[:show]:
            print("  " + line)


def run_catalogs(targets: list[str], limit: int, search_limit: int, show: int) -> None:
    started = time.perf_counter()
    catalogs = catalog_bench.load()
    print(
        f"Emulator catalogs loaded in {time.perf_counter() - started:.1f} s; {limit} Spotify tracks per target, "
        f"first {search_limit} search results each.\n"
    )
    print(
        f"  {'target':8} {'tracks':>6} {'on target':>9} {'chosen':>6} {'right':>6} {'wrong':>5} {'(in res.)':>9} "
        f"{'precision':>9} {'recall':>7} {'recall*':>7} {'not found':>9} {'review':>6}  µs/score"
    )
    for name in targets:
        r = catalog_bench.evaluate(catalogs, name, limit, search_limit=search_limit, keep_errors=show)
        print(
            f"  {name:8} {r.tracks:6} {r.on_target:9} {r.chosen:6} {r.correct:6} {r.wrong:5} {r.wrong_found:9} "
            f"{_pct(r.precision):>9} {_pct(r.recall):>7} {_pct(r.recall_found):>7} {r.not_found:9} "
            f"{r.review:6}  {r.median_us:.1f}"
        )
        if show and r.errors:
            print("\n".join("      " + line.replace("\n", "\n      ") for line in r.errors))
    print(
        "\n  recall = right / on target; recall* = over the tracks whose recording was among the search results; "
        "not found = on the\n  target but not in the results (a search limit, not a matcher error); wrong (in res.) = "
        "wrong although the right\n  recording was among the results; review = best candidate in REVIEW (not chosen); "
        "µs/score = median over tracks of\n  decide() time per candidate (every candidate's title parsed the first time "
        "it is met, the source's once)."
    )


def _pct(value: float | None) -> str:
    return "n/a" if value is None else f"{100 * value:.2f}%"


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.matching", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "pairs",
        nargs="?",
        type=Path,
        default=DEFAULT_PAIRS,
        help="pairs CSV (default: the copied iTunes-Amazon pairs)",
    )
    parser.add_argument("--split", choices=["train", "valid", "all"], default="all")
    parser.add_argument("--show", type=int, default=0, help="print up to N of the matcher's errors")
    parser.add_argument(
        "--catalogs", action="store_true", help="evaluate on the provider emulator's catalogs"
    )
    parser.add_argument(
        "--target", choices=catalog_bench.TARGETS, help="one target catalog (default: all three)"
    )
    parser.add_argument("--limit", type=int, default=2000, help="Spotify tracks per target (default 2,000)")
    parser.add_argument(
        "--search-limit", type=int, default=10, help="search results decided among (default 10)"
    )
    args = parser.parse_args()
    if args.limit < 1 or args.search_limit < 1:
        parser.error("--limit and --search-limit must be positive")
    if args.catalogs:
        run_catalogs(
            [args.target] if args.target else list(catalog_bench.TARGETS),
            args.limit,
            args.search_limit,
            args.show,
        )
    else:
        run_pairs(args.pairs, args.split, args.show)


if __name__ == "__main__":
    main()
