#!/usr/bin/env bash
# Regenerate tests/fixtures/musicnn/*.npz from the ORIGINAL TensorFlow musicnn.
# Needs the network (PyPI) and ~2 GB for a throwaway venv; CI never runs this.
set -euo pipefail
cd "$(dirname "$0")/.."
TMP=${TMPDIR:-/tmp}/musicnn-reference
python3 -m venv "$TMP/venv"
"$TMP/venv/bin/pip" install -q tensorflow tf_keras librosa soundfile
"$TMP/venv/bin/pip" install -q --no-deps musicnn==0.1.0
# clips: 6 s of each generated family, 16 kHz mono, made with the plugin's own synth
.venv/bin/python - "$TMP/clips" <<'PY'
import os, sys
import numpy as np
from beetsplug.sonic import synth
from beetsplug.sonic.audio import load_segments
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
for fam in synth.FAMILIES:
    path = os.path.join(out, f"{fam}.wav")
    synth.write(path, synth.render(synth.spec(fam, 7), 12.0))
    (y,) = load_segments(path, sr=16000, length=6.1, positions=(0.5,))
    synth.write(path, y[None, :], sr=16000)
PY
"$TMP/venv/bin/python" tools/musicnn_reference.py tests/fixtures/musicnn "$TMP"/clips/*.wav
