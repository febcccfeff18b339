"""Generators for the awkward files real libraries contain."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from beetsplug.sonic import synth


def _write_sr(path: Path, y: np.ndarray, sr: int, *, sample_fmt: str | None = None) -> None:
    import av

    from beetsplug.sonic.audio import write_samples

    ext = path.suffix.lstrip(".")
    fmt, codec = synth.CODECS[ext]
    y = np.atleast_2d(y).astype(np.float32)
    with av.open(str(path), "w", format=fmt) as out:
        stream = out.add_stream(codec, rate=sr, layout="mono" if y.shape[0] == 1 else "stereo")
        if sample_fmt:
            stream.codec_context.format = sample_fmt  # FLAC encodes s32 as 24-bit
        write_samples(out, stream, y, sr=sr)


def make_bad_files(folder: Path, good_source: Path) -> dict[str, Path]:
    """Every case of the bad-input list, tagged where the format allows. Returns name -> path."""
    folder.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    src = good_source.read_bytes()

    corrupt = bytearray(src)
    rng = np.random.default_rng(7)
    mid = len(corrupt) // 2
    corrupt[mid: mid + 60_000] = rng.integers(0, 256, 60_000, dtype=np.uint8).tobytes()
    files["corrupt"] = folder / "corrupt.mp3"
    files["corrupt"].write_bytes(bytes(corrupt))

    files["truncated"] = folder / "truncated.mp3"
    files["truncated"].write_bytes(src[: len(src) * 2 // 5])

    files["zero"] = folder / "zero.mp3"
    files["zero"].write_bytes(b"")

    files["notaudio"] = folder / "notaudio.flac"
    files["notaudio"].write_text("this is a shopping list, not a FLAC file\n" * 50)

    files["silence"] = folder / "silence.mp3"
    synth.write(str(files["silence"]), np.zeros((2, synth.SR * 30), np.float32))

    s = synth.spec("acid", 40)
    files["short"] = folder / "short.wav"
    synth.write(str(files["short"]), synth.render(s, 2.0))

    files["mono8k"] = folder / "mono8k.wav"
    y = synth.render(synth.spec("breaks", 41), 20.0)[0]
    _write_sr(files["mono8k"], _resample(y, synth.SR, 8000), 8000)

    files["hires"] = folder / "hires.flac"
    _write_sr(files["hires"], _resample(synth.render(synth.spec("pads", 42), 20.0), synth.SR, 96000),
              96000, sample_fmt="s32")

    files["nan"] = folder / "nan.wav"  # 32-bit float samples, one second of them NaN
    y = synth.render(synth.spec("acid", 44), 20.0)
    y[:, 5 * synth.SR: 6 * synth.SR] = np.nan
    _write_float_wav(files["nan"], y)

    files["unicode"] = folder / "unicode.ogg"
    synth.write(str(files["unicode"]), synth.render(synth.spec("plucks", 43), 20.0))

    tags = {
        "corrupt": "Corrupt Middle", "truncated": "Cut Short", "silence": "Pure Silence",
        "short": "Two Seconds", "mono8k": "Phone Line", "hires": "Studio Master", "nan": "Broken Floats",
        "unicode": "</script><script>alert(1)</script> Ünïcødé «東京» & \"quotes\"",
    }
    for name, title in tags.items():
        try:
            synth.tag(str(files[name]), artist="Edge Cases", title=title, genre="Test")
        except Exception:
            pass  # a file too broken to tag is imported by its name
    return files


def _write_float_wav(path: Path, y: np.ndarray) -> None:
    import av

    from beetsplug.sonic.audio import write_samples

    with av.open(str(path), "w", format="wav") as out:
        stream = out.add_stream("pcm_f32le", rate=synth.SR, layout="stereo")
        write_samples(out, stream, y.astype(np.float32), sr=synth.SR)


def _resample(y: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    y = np.atleast_2d(y)
    n_out = int(y.shape[-1] * sr_out / sr_in)
    t_out = np.arange(n_out) * sr_in / sr_out
    out = np.stack([np.interp(t_out, np.arange(ch.size), ch) for ch in y]).astype(np.float32)
    return out[0] if out.shape[0] == 1 else out
