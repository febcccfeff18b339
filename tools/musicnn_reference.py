"""Reference outputs of the ORIGINAL musicnn (TensorFlow) for the numpy port's tests.

Runs in a throwaway environment, never in CI (see tools/make_musicnn_fixtures.sh):

    python tools/musicnn_reference.py OUT_DIR clip1.wav clip2.wav ...

For each 16 kHz mono WAV clip it saves ``OUT_DIR/<name>.npz`` with
``audio`` (float32), ``mel`` (the float32 log-mel features from librosa, exactly as
the original computes them but without its float16 cast), ``patches`` (the 3 s
inputs) and the TensorFlow model's ``penultimate``, ``mean_pool``, ``max_pool`` and
``taggram`` for every patch -- run per patch ourselves, because the original
extractor's ``penultimate`` output repeats the first patch (a stale loop variable).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import librosa  # noqa: E402
import numpy as np  # noqa: E402
import soundfile  # noqa: E402
import tensorflow as tf  # noqa: E402

tf.compat.v1.disable_eager_execution()

from musicnn import configuration as config  # noqa: E402
from musicnn import models  # noqa: E402

N_FRAMES = 187


def features(audio: np.ndarray) -> np.ndarray:
    mel = librosa.feature.melspectrogram(y=audio, sr=config.SR, hop_length=config.FFT_HOP,
                                         n_fft=config.FFT_SIZE, n_mels=config.N_MELS).T
    return np.log10(10000 * mel.astype(np.float32) + 1).astype(np.float32)


def main(out_dir: str, clips: list[str]) -> None:
    import musicnn

    ckpt = os.path.join(os.path.dirname(musicnn.__file__), "MSD_musicnn", "")
    tf.compat.v1.reset_default_graph()
    with tf.name_scope("model"):
        x = tf.compat.v1.placeholder(tf.float32, [None, N_FRAMES, config.N_MELS])
        is_training = tf.compat.v1.placeholder(tf.bool)
        y, timbral, temporal, cnn1, cnn2, cnn3, mean_pool, max_pool, penultimate = \
            models.define_model(x, is_training, "MSD_musicnn", 50)
        normalized_y = tf.nn.sigmoid(y)
    sess = tf.compat.v1.Session()
    sess.run(tf.compat.v1.global_variables_initializer())
    tf.compat.v1.train.Saver().restore(sess, ckpt)
    os.makedirs(out_dir, exist_ok=True)
    for clip in clips:
        audio, sr = soundfile.read(clip, dtype="float32")
        assert sr == config.SR and audio.ndim == 1, "clips must be 16 kHz mono"
        mel = features(audio)
        b = mel.shape[0] // N_FRAMES
        batch = mel[: b * N_FRAMES].reshape(b, N_FRAMES, config.N_MELS)
        outs = {k: [] for k in ("taggram", "penultimate", "mean_pool", "max_pool")}
        for patch in batch:  # one at a time: what each patch really produces
            t, p, mp, xp = sess.run([normalized_y, penultimate, mean_pool, max_pool],
                                    feed_dict={x: patch[None], is_training: False})
            for k, v in zip(outs, (t, p, mp, xp)):
                outs[k].append(v[0])
        name = os.path.splitext(os.path.basename(clip))[0]
        np.savez_compressed(os.path.join(out_dir, name + ".npz"), audio=audio, mel=mel,
                            **{k: np.stack(v).astype(np.float32) for k, v in outs.items()})
        print(f"{name}: {b} patches")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2:])
