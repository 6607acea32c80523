"""The benchmark command runs, and its exact figures (API calls, SQL queries) meet their targets.
Wall-time ratios are printed, never asserted: they depend on the machine."""

import json

import pytest
from django.core.management import call_command

from benchmarks.command import Command as BenchmarkSync
from benchmarks.scenarios import QUICK_SIZES, import_call_target, push_call_target


@pytest.fixture(scope="module")
def figures(tmp_path_factory, django_db_blocker):
    # The command makes and migrates its own throwaway database and starts its own emulator.
    out = tmp_path_factory.mktemp("bench") / "figures.json"
    with django_db_blocker.unblock():
        call_command(BenchmarkSync(), "--quick", "--json", str(out), verbosity=0)
    data = json.loads(out.read_text())
    print(json.dumps(data, indent=1))
    return data


def test_it_imports_every_task_in_one_composite_call_per_10000_records(figures):
    # R4, R13 (issue 16): the picklist and the query pages chained through Composite, five
    # pages of 2,000 a call: 2,500 tasks in one call, the same in every repeat.
    b1 = figures["B1"]
    assert b1["imported"] == b1["links"] == QUICK_SIZES["import"]
    assert b1["api_calls"] == import_call_target(QUICK_SIZES["import"]) == 1
    assert b1["api_calls_by_kind"] == {"composite": 1}
    assert b1["api_calls"] == b1["api_calls_engine"]
    assert set(b1["api_calls_all"]) == {b1["api_calls"]}
    assert b1["outcomes"] == ["success"] * b1["repeats"]
    assert b1["repeats"] >= 3 and b1["write_floor_rows"] == 3 * QUICK_SIZES["import"]
    print("B1 ratio to the network floor:", round(b1["ratio_to_floor"], 2))
    print("B1 ratio to fetch + write floor:", round(b1["ratio_to_fetch_and_write"], 2))


@pytest.mark.parametrize("step", ["creates", "edits", "deletes"])
def test_it_pushes_up_to_1000_records_in_one_call_after_the_pull(figures, step):
    # R5, R8, R9, R13 (issue 16): the cycle's pull, then one Composite call of collections.
    b2 = figures["B2"][step]
    n = QUICK_SIZES["push"]
    assert (b2["done"], b2["failed"]) == (n, 0)
    assert b2["api_calls"] == push_call_target(n) == 2, b2["api_calls_by_kind"]
    # The deletes step's pull comes after the edits step read the creates back (a busy read
    # still in the overlap), so it reads the overlap as stamps in a Composite call of its own.
    expected = {"composite": 2} if step == "deletes" else {"queryAll": 1, "composite": 1}
    assert b2["api_calls_by_kind"] == expected
    assert set(b2["api_calls_all"]) == {2} and set(b2["done_all"]) == {n}
    assert b2["raw_ok"] == n
    print(f"B2 {step} ratio to raw collection calls:", round(b2["ratio_to_raw"], 2))


def test_it_spends_one_call_on_an_idle_cycle(figures):
    # R9, R13: an idle cycle costs one call, for a small and a large user alike.
    b3 = figures["B3"]
    assert b3["small"]["api_calls_max"] == 1, b3["small"]
    assert b3["large"]["api_calls_max"] == 1, b3["large"]
    assert b3["large"]["api_calls_by_kind_last"] == {"queryAll": 1}
    # issue 16: after the lease's claim, the bookkeeping is three writes in one transaction.
    for size in ("small", "large"):
        assert b3[size]["writes_outside_a_transaction"] == 1, b3[size]
        assert b3[size]["bookkeeping_writes"] == 3, b3[size]
    print("B3 idle time, large / small:", round(b3["time_ratio_large_to_small"], 2))
    print(
        "B3 idle SQL statements / writes:",
        b3["large"]["sql_statements"],
        b3["large"]["write_statements"],
    )


@pytest.mark.parametrize("page", ["command_center", "task_list"])
def test_it_renders_the_pages_with_a_constant_number_of_queries(figures, page):
    # R4, R14: no N+1, with 10 tasks or thousands.
    b5 = figures["B5"]
    assert b5["small"][page]["queries"] == b5["large"][page]["queries"], b5


def test_the_network_model_slows_the_engine_and_the_floor_alike(tmp_path, django_db_blocker):
    # issue 16: --latency-ms is the emulator's network model (per call, plus per record), so
    # every call of the engine and of the raw floor costs at least the latency.
    out = tmp_path / "slow.json"
    with django_db_blocker.unblock():
        call_command(
            BenchmarkSync(),
            "--quick",
            "--only",
            "B2",
            "--latency-ms",
            "150",
            "--repeats",
            "1",
            "--json",
            str(out),
            verbosity=0,
        )
    data = json.loads(out.read_text())
    assert data["environment"]["latency_ms"] == 150
    assert data["environment"]["per_record_ms"] == 0.1
    for step in data["B2"].values():
        assert step["seconds"] >= 0.15 * step["api_calls"] + 0.0001 * step["records"]
        assert step["raw_seconds"] >= 0.15 * (step["records"] // 200)


def test_it_reads_every_admin_page_in_the_same_queries_as_the_log_grows(figures):
    # R14, issue 16 B5: no admin page's queries grow with the log (a few times more events).
    admin = figures["B5"]["admin"]
    steps = admin["steps"]
    assert len(steps) >= 2 and steps[-1]["events"] >= 2 * steps[0]["events"]
    for label in steps[-1]["pages"]:
        counts = {step["events"]: step["pages"][label]["queries"] for step in steps}
        assert len(set(counts.values())) == 1, (label, counts)
    assert admin["import_run_events"] == QUICK_SIZES["import"]
    print("B5 admin p95 (ms):", {k: v["p95_ms"] for k, v in admin["pages"].items()})


def test_it_draws_the_admin_scaling_curve_as_svg(figures):
    import xml.etree.ElementTree as ET

    from benchmarks.admin_pages import CURVE_PAGES, curve_svg

    svg = ET.fromstring(curve_svg(figures["B5"]["admin"]))
    ns = "{http://www.w3.org/2000/svg}"
    lines = svg.findall(f"{ns}polyline")
    assert len(lines) == len(CURVE_PAGES)
    steps = len(figures["B5"]["admin"]["steps"])
    assert all(len(line.get("points").split()) == steps for line in lines)
    assert "target (p95) 200" in "".join(svg.itertext())
