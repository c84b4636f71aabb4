#!/usr/bin/env bash
# GPU check for hetflow issue #15 ("Real GPUs"): the one prepared script to run on the GPU machine (device tool).
# It installs the project, runs the GPU tests, the MPS benchmark, a real `hetflow run --gpu-sharing mps` and MIG
# discovery, printing everything (also into $OUT/gpu-check.log and $OUT/gpu_sharing.json). Budget: < ~8 minutes.
#
# The GPU machine reaches no network: hetflow's dependencies missing from its image (pydantic & co, starlette,
# uvicorn, plotly, prometheus-client, scipy/scikit-learn if absent) travel as wheels for its Python (cp312 when last
# looked) in an ignored folder. Before the run, in the checkout the device tool sends:
#   echo /.gpucheck/ >> .git/info/exclude
#   pip download --only-binary=:all: --python-version 3.12 --platform manylinux2014_x86_64 -d .gpucheck \
#       pydantic starlette uvicorn plotly prometheus-client
# then: run(command="WHEELS=.gpucheck bash benchmarks/gpu-check.sh", carry=[".gpucheck"], timeout_s=540), give_back.
set -u
export PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1
OUT=${OUT:-/tmp/gpu-check-out}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/gpu-check.log") 2>&1
HERE=$(cd "${WHEELS:-$(dirname "$0")}" && pwd)  # where the carried wheels are
PY=${PY:-python3}  # PY=... NO_INSTALL=1 bash gpu-check.sh: a dry run elsewhere, on an installed Python
section() { echo; echo "=== $* ($(date -u +%T))"; }

section machine
nvidia-smi || echo "nvidia-smi failed"
nvidia-smi -L
nvidia-smi --query-gpu=name,mig.mode.current,memory.total,compute_mode --format=csv
command -v nvidia-cuda-mps-control || echo "NO nvidia-cuda-mps-control ON PATH: the MPS parts will skip"
$PY -V
$PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available())" || echo "no torch"

section install
# pip install -e '.[dev,gpu]' needs the network; here: the carried wheels for what the image lacks, then the
# project editable without fetching anything (the image has setuptools, nvidia-ml-py, pytest, hypothesis...)
if [ -n "${NO_INSTALL:-}" ]; then
  echo "NO_INSTALL: skipped"
elif ! $PY -c "import torch" 2>/dev/null; then
  timeout 120 $PY -m pip install -q torch || echo "torch absent and not installable here: the benchmark uses CuPy"
fi
[ -n "${NO_INSTALL:-}" ] || timeout 120 $PY -m pip install -q --no-index --find-links "$HERE" --no-build-isolation -e '.[gpu]' \
  || { echo "editable install failed: using the wheels in /tmp/site and PYTHONPATH=src";
       $PY -m pip install -q --no-index --no-deps --no-compile --target /tmp/site "$HERE"/*.whl;
       export PYTHONPATH=$PWD/src:/tmp/site; }
$PY -c "import hetflow, pynvml; print('hetflow from', hetflow.__file__, '| pynvml', pynvml.__file__)"
HETFLOW=$(command -v hetflow || echo "$PY -c 'from hetflow.cli import main; main()'")

section "GPU tests (pytest -m gpu) and the MPS/NVML tests"
timeout 170 $PY -m pytest -p no:cacheprovider -rs -v --timeout 120 \
  tests/executors/test_mps.py tests/spec/test_local_gpus.py tests/spec/test_local.py
timeout 120 $PY -m pytest -p no:cacheprovider -rs --timeout 100 -m gpu tests \
  --continue-on-collection-errors --ignore tests/executors/test_mps.py --ignore tests/spec/test_local_gpus.py

section "MIG discovery through NVML"
$PY - <<'EOF'
from hetflow.spec.local import local_gpus, local_platform
g = local_gpus()
print("count", g.count, "| model", g.model, "| sharing", g.sharing)
for i in g.instances:
    print("  MIG instance", i)
print(local_platform().node_types)
EOF
nvidia-smi mig -lgi 2>&1 | head -20

section "hetflow discover --json (node features of a real GPU machine, issue #17)"
timeout 60 bash -c "$HETFLOW discover --json" | tee "$OUT/discover.json"

section "hetflow run --gpu-sharing mps (a real daemon; 2 half-GPU torch tasks)"
W=$(mktemp -d)
cat > "$W/wf.yaml" <<EOF
workflow: mps-check
tasks:
  - name: probe
    count: 2
    gpus: 0.5
    command: "echo get_server_list | nvidia-cuda-mps-control; env | grep -E 'CUDA_(MPS|VISIBLE)'; $PY -c 'import torch; a = torch.rand(4096, 4096, device=\"cuda\"); print((a @ a).sum().item())'"
EOF
printf 'platform: gpu\nnodes:\n  - {type: g, cores: 4, gpus: 1}\n' > "$W/p.yaml"
timeout 120 bash -c "$HETFLOW run '$W/wf.yaml' -p '$W/p.yaml' --gpu-sharing mps --journal '$W/j.db' --json"
echo "exit status $?"
for f in "$W"/j.db.logs/*; do echo "--- $f"; cat "$f"; done
pgrep -a nvidia-cuda-mps || echo "no MPS daemon left running (as it should be)"

section "benchmarks/gpu_sharing.py --json (5 copies: 1/5 bins under MPS vs exclusive in turn)"
timeout 200 $PY benchmarks/gpu_sharing.py --json | tee "$OUT/gpu_sharing.json"
echo "exit status ${PIPESTATUS[0]}"
pgrep -a nvidia-cuda-mps || echo "no MPS daemon left running"
section done
