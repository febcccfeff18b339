"""musicnn: seconds per track, decode included, numpy port vs the original TensorFlow model.

30 s and 80 s midpoint segments of generated 5-minute MP3s, on one core (pinned,
single-threaded BLAS) and on both. The TensorFlow side needs a Python with
tensorflow, tf_keras, librosa and musicnn installed (tools/make_musicnn_fixtures.sh
builds one): point SONIC_TF_PYTHON at it. It runs the original network on the same
decoded segments (our decoder, librosa's mel), timing decode + features + network.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile

from _audio import ROOT, tracks

TF_CHILD = r"""
import os, sys, time, json
os.environ["TF_USE_LEGACY_KERAS"] = "1"; os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
cores = json.loads(sys.argv[1]); os.sched_setaffinity(0, set(cores))
import numpy as np, librosa, tensorflow as tf, soundfile
tf.config.threading.set_intra_op_parallelism_threads(len(cores))
tf.config.threading.set_inter_op_parallelism_threads(1)
tf.compat.v1.disable_eager_execution()
import musicnn
from musicnn import models
ckpt = os.path.join(os.path.dirname(musicnn.__file__), "MSD_musicnn", "")
x = tf.compat.v1.placeholder(tf.float32, [None, 187, 96]); tr = tf.compat.v1.placeholder(tf.bool)
with tf.name_scope("model"):
    out = models.define_model(x, tr, "MSD_musicnn", 50)
cfg = tf.compat.v1.ConfigProto(intra_op_parallelism_threads=len(cores), inter_op_parallelism_threads=1)
sess = tf.compat.v1.Session(config=cfg); tf.compat.v1.train.Saver().restore(sess, ckpt)
files = sys.argv[2:]
def run(f):
    y, sr = soundfile.read(f, dtype="float32")
    mel = np.log10(10000 * librosa.feature.melspectrogram(y=y, sr=16000, hop_length=256, n_fft=512, n_mels=96).T.astype(np.float32) + 1)
    b = mel.shape[0] // 187
    sess.run(out[-1], feed_dict={x: mel[: b * 187].reshape(b, 187, 96), tr: False})
run(files[0]); t = time.perf_counter()
for f in files: run(f)
print(json.dumps((time.perf_counter() - t) / len(files)))
"""

OURS_CHILD = r"""
import os, sys, time, json
cores = json.loads(sys.argv[1]); os.sched_setaffinity(0, set(cores))
sys.path.insert(0, sys.argv[2])
from beetsplug.sonic.backends import get_backend
seg = float(sys.argv[3]); files = sys.argv[4:]
b = get_backend("musicnn", segment=seg, positions=(0.5,))
b.embed(files[0]); t = time.perf_counter()
for f in files: b.embed(f)
print(json.dumps((time.perf_counter() - t) / len(files)))
"""


def main() -> None:
    paths = tracks("throughput", per_family=3, seconds=300, formats=("mp3",))[:8]
    cores = sorted(os.sched_getaffinity(0))
    tf_python = os.environ.get("SONIC_TF_PYTHON")
    print(f"{len(paths)} generated 5-minute MP3s, midpoint segment, seconds per track (decode included)")
    for seg in (30, 80):
        with tempfile.TemporaryDirectory() as tmp:
            clips = []
            if tf_python:  # the same decoded segment for TensorFlow, as 16 kHz WAV
                sys.path.insert(0, ROOT)
                from beetsplug.sonic import synth
                from beetsplug.sonic.audio import load_segments

                for i, p in enumerate(paths):
                    (y,) = load_segments(p, sr=16000, length=seg, positions=(0.5,))
                    clips.append(os.path.join(tmp, f"{i}.wav"))
                    synth.write(clips[-1], y[None, :], sr=16000)
            for label, use in (("1 core", cores[:1]), (f"{len(cores)} cores", cores)):
                env = dict(os.environ)
                if len(use) == 1:
                    env.update(OPENBLAS_NUM_THREADS="1", OMP_NUM_THREADS="1")
                ours = json.loads(subprocess.run(
                    [sys.executable, "-c", OURS_CHILD, json.dumps(use), ROOT, str(seg), *paths],
                    env=env, capture_output=True, text=True, check=True).stdout)
                line = f"  {seg} s segment, {label}: numpy {ours:.2f} s"
                if tf_python:
                    theirs = json.loads(subprocess.run(
                        [tf_python, "-c", TF_CHILD, json.dumps(use), *clips], env=env,
                        capture_output=True, text=True, check=True).stdout.strip().splitlines()[-1])
                    line += f" | TensorFlow {theirs:.2f} s (+ our decode) | ratio {ours / theirs:.2f}"
                print(line, flush=True)


if __name__ == "__main__":
    main()
