"""Unit tests of the suite's report and statistics (no benchmark runs, nothing is timed):
the generated block must replace only itself, the summary must pick the right peer and
verdict, and the reproducibility check must count the medians outside the first run's spread.

  python3 bench/suite/report_test.py"""
import json
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import common  # noqa: E402
import report  # noqa: E402

HAND = "\n## Journal\n\nhand-written text, | tables | and all\n\n## Apply\n\nmore\n"


def read(path):
    with open(path) as f:
        return f.read()


def ctx_in(d):
    return common.Context(d, d, d, True, lambda msg: None)


class Stats(unittest.TestCase):
    def test_quantiles_interpolate(self):
        s = common.summarize([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
        self.assertEqual(s["median"], 5.5)
        self.assertAlmostEqual(s["p10"], 1.9)
        self.assertAlmostEqual(s["p90"], 9.1)
        self.assertEqual((s["min"], s["max"], s["n"]), (1, 10, 10))

    def test_no_samples_is_an_error(self):
        with self.assertRaises(ValueError):
            common.summarize([])


class Metric(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.ctx = ctx_in(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_lower_is_better_picks_fastest_peer_and_ratio(self):
        self.ctx.metric("b", "k", "start", "ms", [10, 10, 10], {"slow": [40], "fast": [20, 20]},
                        ratio_goal=1.0, refs={"floor": [1]})
        m = self.ctx.metrics[0]
        self.assertEqual(m["best_peer"], "fast")
        self.assertAlmostEqual(m["ratio"], 0.5)
        self.assertTrue(m["met"])
        self.assertIn("floor", m["refs"])

    def test_higher_is_better_and_absolute_goal(self):
        self.ctx.metric("b", "k", "tput", "MiB/s", [50], {"a": [100], "b": [80]}, better="higher",
                        goal=60)
        m = self.ctx.metrics[0]
        self.assertEqual(m["best_peer"], "a")
        self.assertAlmostEqual(m["ratio"], 0.5)
        self.assertFalse(m["met"])
        self.assertEqual(m["goal"], ">= 60.0 MiB/s")

    def test_no_peer_has_no_ratio(self):
        self.ctx.metric("b", "k", "verify", "s", [3.0], {"empty": []})
        m = self.ctx.metrics[0]
        self.assertIsNone(m["best_peer"])
        self.assertIsNone(m["ratio"])
        self.assertIsNone(m["met"])


class Rounds(unittest.TestCase):
    """A full run measures each benchmark in rounds: every row, plot and note must describe all
    rounds so far, with one row per metric."""

    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.ctx = ctx_in(self.tmp.name)

    def tearDown(self):
        self.tmp.cleanup()

    def test_rows_pool_every_round_and_keep_each_rounds_median(self):
        self.ctx.metric("b", "k", "start", "ms", [10, 11, 12], {"peer": [20, 20]}, ratio_goal=1.0)
        self.assertNotIn("round_medians", self.ctx.metrics[0]["cells"])
        self.ctx.round = 2
        self.ctx.metric("b", "k", "start", "ms", [30, 31, 32], {"peer": [40, 40]}, ratio_goal=1.0)
        self.assertEqual(len(self.ctx.metrics), 1)
        m = self.ctx.metrics[0]
        self.assertEqual(m["cells"]["n"], 6)
        self.assertEqual(m["cells"]["median"], 21)
        self.assertEqual(m["cells"]["round_medians"], [11, 31])
        self.assertEqual(m["peers"]["peer"]["median"], 30)
        # A row recorded again keeps its place in the table.
        self.ctx.metric("b", "other", "other", "ms", [1], {})
        self.ctx.metric("b", "k", "start", "ms", [30, 31, 32], {"peer": [40, 40]}, ratio_goal=1.0)
        self.assertEqual([x["key"] for x in self.ctx.metrics], ["k", "other"])
        # A round that is run again replaces its own samples instead of adding to them.
        self.ctx.metric("b", "k", "start", "ms", [50, 50, 50], {"peer": [40]}, ratio_goal=1.0)
        self.assertEqual(self.ctx.metrics[0]["cells"]["round_medians"], [11, 50])

    def test_plots_pool_and_notes_describe_the_latest_round(self):
        for rnd, (samples, text) in enumerate((([1, 2], "first"), ([3, 4], "second")), start=1):
            self.ctx.round = rnd
            self.ctx.curve("c", "t", "x", "y", {"line": [(10, samples)]})
            self.ctx.note("b", text)
            if rnd == 1:
                self.ctx.note("other", "other 1")  # a benchmark without a second round
        self.assertEqual(len(self.ctx.series), 1)
        self.assertEqual(self.ctx.series[0]["lines"]["line"][0][1]["n"], 4)
        self.assertEqual(self.ctx.notes, ["second", "other 1"])

    def test_report_shows_each_rounds_median(self):
        for rnd in (1, 2, 3):
            self.ctx.round = rnd
            self.ctx.metric("b", "k", "apply", "ms", [rnd * 10.0] * 3, {})
        self.ctx.round = 1
        self.ctx.metric("b", "two", "backup", "ms", [5.0], {})
        self.ctx.round = 2
        self.ctx.metric("b", "two", "backup", "ms", [6.0], {})
        r = results(self.ctx)
        r["meta"]["rounds"] = {"start": 3, "backup": 2}
        text = report.summary_markdown(r, [], self.tmp.name, None)
        self.assertIn("| apply | 10.0 | 20.0 | 30.0 |", text)
        self.assertIn("| backup | 5.00 | 6.00 | - |", text)
        self.assertIn("pooled over 3 rounds spread over the run (backup: 2)", text)


def results(ctx):
    return {"meta": {"mode": "quick", "duration_s": 10, "date": "today", "commit": "abc",
                     "dirty": False, "cpu": "cpu", "cores": 2, "mem_gib": 1, "os": "os",
                     "kernel": "k", "loadavg_start": ["0", "0", "0"],
                     "loadavg_end": ["0", "0", "0"]},
            "metrics": ctx.metrics, "series": ctx.series, "notes": ctx.notes, "growth": {},
            "failures": {"backup": "BenchError: boom"}}


class Document(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.d = self.tmp.name
        self.ctx = ctx_in(self.d)
        self.ctx.metric("start", "exec", "exec into a cell", "ms", [3, 4, 5], {"bwrap": [4, 4]},
                        ratio_goal=1.0)
        self.doc = os.path.join(self.d, "PERFORMANCE.md")

    def tearDown(self):
        self.tmp.cleanup()

    def test_first_run_puts_block_above_hand_written_sections(self):
        with open(self.doc, "w") as f:
            f.write(HAND)
        report.write_all(results(self.ctx), os.path.join(self.d, "bench"), self.doc)
        text = read(self.doc)
        self.assertTrue(text.startswith(report.BEGIN))
        self.assertTrue(text.endswith(HAND.lstrip("\n")))
        self.assertIn("| exec into a cell | 4.00 ms [3.20..4.80] | bwrap: 4.00 ms [4.00..4.00] "
                      "| 1.00x | ratio <= 1 | yes |", text)
        self.assertIn("- backup: BenchError: boom", text)

    def test_regeneration_replaces_only_the_block(self):
        with open(self.doc, "w") as f:
            f.write(report.BEGIN + "\nold numbers\n" + report.END + HAND)
        report.write_all(results(self.ctx), os.path.join(self.d, "bench"), self.doc)
        report.write_all(results(self.ctx), os.path.join(self.d, "bench"), self.doc)
        text = read(self.doc)
        self.assertNotIn("old numbers", text)
        self.assertEqual(text.count(report.BEGIN), 1)
        self.assertEqual(text.split(report.END, 1)[1], HAND)
        self.assertIn("](bench/results.json)", text)  # links relative to the document

    def test_begin_without_end_changes_nothing(self):
        broken = report.BEGIN + "\nhalf a block\n" + HAND
        with open(self.doc, "w") as f:
            f.write(broken)
        with self.assertRaisesRegex(ValueError, "no <!-- bench:summary:end -->"):
            report.replace_block(self.doc, "new\n")
        self.assertEqual(read(self.doc), broken)


class Compare(unittest.TestCase):
    def test_counts_medians_outside_first_spread(self):
        with tempfile.TemporaryDirectory() as d:
            runs = []
            for i, (a, b) in enumerate((([10] * 4 + [11] * 4 + [12] * 4, [1, 2, 3, 4, 5, 6]),
                                        ([11] * 5, [9] * 5))):
                ctx = ctx_in(d)
                ctx.metric("x", "a", "a", "ms", a, {})
                ctx.metric("x", "b", "b", "ms", b, {})
                path = os.path.join(d, f"{i}.json")
                with open(path, "w") as f:
                    json.dump({"metrics": ctx.metrics}, f)
                runs.append(path)
            with open(os.devnull, "w") as null:
                old, sys.stdout = sys.stdout, null
                try:
                    outside = report.compare(*runs)
                finally:
                    sys.stdout = old
            self.assertEqual(outside, 1)  # a: 11 inside [10..12]; b: 9 outside [1.5..5.5]


if __name__ == "__main__":
    unittest.main()
