import json
import os
import subprocess
import sys

from .conftest import REPO


def test_bench_data_mode_prints_table_and_writes_json_and_png(text_dir, tmp_path):
    out = subprocess.run([sys.executable, os.path.join(REPO, "tools", "bench.py"), "--mode",
                          "data", "--repeats", "1", "--set", f"data.path={text_dir}",
                          "--out", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads((tmp_path / "data.json").read_text())
    names = [r["variant"] for r in result["rows"]]
    assert names[0].startswith("default") and len(names) == 5
    assert all(r["cold_examples_per_second"] > 0 for r in result["rows"])
    assert result["rows"][0]["warm_ratio_vs_default"] == 1.0
    assert result["examples_per_epoch"] == 800 and result["threads"]["cpu_count"]
    assert "warm_ratio_vs_default" in out.stdout and "per-example parse" in out.stdout
    assert (tmp_path / "data.png").read_bytes()[:4] == b"\x89PNG"


def test_bench_reports_config_errors(tmp_path):
    out = subprocess.run([sys.executable, os.path.join(REPO, "tools", "bench.py"), "--set",
                          "data.path=/nope"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 2 and "data.path: no such directory" in out.stderr
