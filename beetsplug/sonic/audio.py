"""Decoding audio into analysis segments, and encoding clips for hosted APIs.

Everything here works through PyAV, which bundles FFmpeg: no system ffmpeg is
needed. Samples are returned as mono ``float32`` arrays of shape ``(n_samples,)``
in ``[-1, 1]`` at the requested rate.

A DJ track's body is its middle: intros and outros are mixing tools. So segments
are centred on relative positions of the track (``0.5`` is the midpoint); a track
shorter than a segment is used whole.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass

import numpy as np

from .errors import ItemError

#: Below this many seconds of decoded audio a track is not analysed.
MIN_SECONDS = 1.0
#: A segment whose peak stays under this level (about -90 dBFS) counts as silence.
SILENCE_PEAK = 3e-5
#: Within a track, 100 ms whose peak stays under this level (-60 dBFS) are quiet, and this
#: many seconds of them at the end or start of the middle span mean the music ends or starts
#: inside it (:func:`load_middle`)
QUIET_PEAK, SILENT_RUN = 1e-3, 10.0
#: seconds of a file :func:`load_middle` decodes whole to find its music (20 minutes: 106 MB
#: of samples at 22.05 kHz)
MAX_WHOLE = 1200.0


@dataclass(frozen=True)
class Segment:
    """Where to read: ``start`` and ``length`` in seconds."""

    start: float
    length: float


def plan_segments(
    duration: float, *, length: float, positions: tuple[float, ...]
) -> list[Segment]:
    """Segments of ``length`` seconds centred on each relative position.

    A segment that would run past either end is shifted inside the track; a track
    shorter than ``length`` yields one segment covering all of it.
    """
    if length <= 0:
        raise ValueError("segment length must be positive")
    if duration <= length:
        return [Segment(0.0, max(duration, 0.0))]
    out = []
    for pos in positions:
        start = min(max(duration * pos - length / 2, 0.0), duration - length)
        out.append(Segment(start, length))
    return out


def _open(path: str | bytes):
    import av

    if isinstance(path, bytes):
        path = os.fsdecode(path)
    if not os.path.exists(path):
        raise ItemError("file not found (moved or deleted since import?)")
    if os.path.getsize(path) == 0:
        raise ItemError("file is empty (0 bytes)")
    try:
        container = av.open(path, metadata_errors="ignore")
    except av.FFmpegError as exc:
        raise ItemError(f"not a readable audio file ({_av_reason(exc)})") from None
    if not container.streams.audio:
        container.close()
        raise ItemError("file has no audio stream")
    return container


def _av_reason(exc: Exception) -> str:
    text = getattr(exc, "strerror", None) or str(exc)
    return text.split(": '", 1)[0].strip()


def duration_of(container) -> float | None:
    """Duration in seconds as the container declares it, or None if unknown."""
    stream = container.streams.audio[0]
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / 1_000_000
    return None


def _decode_span(container, *, sr: int, start: float, length: float | None) -> np.ndarray:
    """Decode ``length`` seconds from ``start`` (None = to the end), mono at ``sr``.

    FFmpeg does the whole job in C (:func:`_decode_graph`); where that graph can't be
    built, frame by frame through PyAV (:func:`_decode_frames`), the same samples slower.
    """
    import av

    try:
        y = _decode_graph(container, sr=sr, start=start, length=length)
    except (av.FFmpegError, ValueError, UnicodeError):
        y = None
    if y is None:
        y = _decode_frames(container, sr=sr, start=start, length=length)
    if length is not None:
        y = y[: int(round(length * sr))]
    y = np.ascontiguousarray(y * _mono_gain(container), dtype=np.float32)
    if not np.isfinite(y).all():  # a damaged float file: its broken samples are silence
        np.nan_to_num(y, copy=False, nan=0.0, posinf=0.0, neginf=0.0)
    return y


def _mono_gain(container) -> np.float32:
    # FFmpeg's stereo->mono matrix is (L + R) / sqrt(2); scaled back to the
    # channel mean so a mono file and its stereo copy give the same samples.
    stereo = container.streams.audio[0].codec_context.channels == 2
    return np.float32(1 / np.sqrt(2)) if stereo else np.float32(1)


#: samples per frame the graph hands back: a 30 s segment crosses into Python a few times,
#: not once per codec frame (a Vorbis frame is ~15 ms: 2,000 crossings per 30 s)
GRAPH_FRAME = 1 << 16


def _decode_graph(container, *, sr: int, start: float, length: float | None) -> np.ndarray | None:
    """Seek, decode, trim, resample and downmix in one FFmpeg filter graph
    (amovie -> atrim -> aresample -> aformat -> asetnsamples): 2-3x faster than the
    frame loop, whose cost is Python's per-frame work. ``None`` for a file the graph
    can't open by name (``container.name`` is not a path on disk)."""
    import av

    path = container.name
    if not isinstance(path, str) or not os.path.isfile(path):
        return None
    graph = av.filter.Graph()
    graph.threads = 1  # audio filters don't slice-thread: a pool per graph is pure cost
    # options go in as a dictionary, never parsed from a string: any file name is safe
    chain = [graph.add("amovie", filename="file:" + path, seek_point=f"{start:.6f}"),
             # a little past the end: after a seek some decoders (MP3) shift the
             # timestamps by their priming delay, and the caller cuts to length
             graph.add("atrim", start=f"{start:.6f}",
                       **({} if length is None else {"duration": f"{length + 0.25:.6f}"})),
             graph.add("aresample", out_sample_rate=str(sr)),
             graph.add("aformat", sample_fmts="flt", channel_layouts="mono"),
             graph.add("asetnsamples", n=str(GRAPH_FRAME), p="0"),
             graph.add("abuffersink")]
    for a, b in zip(chain, chain[1:]):
        a.link_to(b)
    graph.configure()
    chunks: list[np.ndarray] = []
    while True:
        try:
            chunks.append(chain[-1].pull().to_ndarray().reshape(-1))
        except (av.EOFError, av.BlockingIOError):
            break
        except av.FFmpegError as exc:
            # A truncated or damaged file: keep what decoded cleanly, if anything.
            if not chunks:
                raise ItemError(f"audio could not be decoded ({_av_reason(exc)})") from None
            break
    return np.concatenate(chunks) if chunks else np.zeros(0, np.float32)


def _decode_frames(container, *, sr: int, start: float, length: float | None) -> np.ndarray:
    """:func:`_decode_span` through PyAV's frames, one at a time."""
    import av

    stream = container.streams.audio[0]
    time_base = float(stream.time_base) if stream.time_base else 0.0
    resampler = av.AudioResampler(format="flt", layout="mono", rate=sr, frame_size=32768)
    if start > 0:
        container.seek(int(start * 1_000_000), any_frame=False)
    end = None if length is None else start + length
    chunks: list[np.ndarray] = []
    first: float | None = None
    try:
        for frame in container.decode(stream):
            t0 = frame.pts * time_base if frame.pts is not None else (first or start)
            t1 = t0 + frame.samples / frame.sample_rate
            if t1 <= start:
                continue
            if first is None:
                first = t0
            chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(frame)]
            if end is not None and t1 >= end:
                break
    except av.FFmpegError as exc:
        # A truncated or damaged file: keep what decoded cleanly, if anything.
        if not chunks and first is None:
            raise ItemError(f"audio could not be decoded ({_av_reason(exc)})") from None
    chunks += [out.to_ndarray().reshape(-1) for out in resampler.resample(None)]
    if not chunks:
        return np.zeros(0, np.float32)
    return np.concatenate(chunks)[max(int(round(((first or start) - start) * -sr)), 0):]


def _cut(whole: np.ndarray, *, sr: int, length: float, positions: tuple[float, ...]) -> list[np.ndarray]:
    """Cut planned segments out of a fully decoded track."""
    segs = plan_segments(whole.size / sr, length=length, positions=positions)
    return [whole[int(s.start * sr): int((s.start + s.length) * sr)] for s in segs]


def load_segments(
    path: str | bytes,
    *,
    sr: int,
    length: float,
    positions: tuple[float, ...] = (0.5,),
) -> list[np.ndarray]:
    """Decode the analysis segments of one file.

    Returns one mono float32 array per segment (a short track gives one array).
    Raises :class:`ItemError` for a missing, empty, undecodable, too short or
    silent file.
    """
    return _checked(_decoded(path, sr=sr, length=length, positions=positions), sr=sr)


def load_middle(path: str | bytes, *, sr: int, length: float) -> np.ndarray:
    """The middle ``length`` seconds of a track's music (all of a shorter one).

    As :func:`load_segments` at the midpoint, unless the music ends or starts inside that
    span (a run of :data:`SILENT_RUN` seconds of silence at its end or start: a rendered
    file's silent tail, the gap before a hidden track, a long silent lead-in). Then the
    whole file is decoded and the span is the middle of the music between its first and
    last sound. Raises :class:`ItemError` as :func:`load_segments` does.
    """
    n = int(length * sr)
    y = _decoded(path, sr=sr, length=length, positions=(0.5,))[0]
    if max(_silent_ends(y, sr)) >= SILENT_RUN * sr and (y.size < n or _fits(path)):
        # a span shorter than asked for is the whole file already
        whole = y if y.size < n else _decoded(path, sr=sr, length=float("inf"), positions=(0.5,))[0]
        music = _music(whole, sr)
        music = music if music.size else whole
        y = music[max(0, (music.size - n) // 2):][:n]
    return _checked([y], sr=sr)[0]


#: seconds before the end of a file :func:`load_ending` decodes to find where its music stops
#: (a rendered file's reverb tail, the silence after a CD track)
ENDING_SEARCH = 10.0


def load_ending(path: str | bytes, *, sr: int, length: float) -> np.ndarray | None:
    """The last ``length`` seconds of a track's music: decoded from :data:`ENDING_SEARCH`
    seconds before the end the file declares to where it really ends, its silent tail
    dropped. ``None`` where there is no end to read — a file that declares no length (it is
    not decoded whole for this), a damaged end, an end silent for nearly all those seconds:
    the ending is extra evidence, and the rest of the track may be fine."""
    import av

    try:
        container = _open(path)
    except ItemError:
        return None
    try:
        duration = duration_of(container)
        if not duration:
            return None
        y = _decode_span(container, sr=sr, start=max(0.0, duration - ENDING_SEARCH), length=None)
    except (av.FFmpegError, ItemError):
        return None
    finally:
        container.close()
    music = _music(y, sr)[-int(length * sr):]
    return music if music.size >= MIN_SECONDS * sr else None


def _fits(path: str | bytes) -> bool:
    """Whether a file is short enough to decode whole (:data:`MAX_WHOLE`; a DJ mix of hours
    is not, and keeps the middle of the file)."""
    container = _open(path)
    try:
        duration = duration_of(container)
    finally:
        container.close()
    return duration is not None and duration <= MAX_WHOLE


def _music(y: np.ndarray, sr: int) -> np.ndarray:
    """``y`` between its first and its last sound (:func:`_silent_ends`; empty when silent)."""
    head, tail = _silent_ends(y, sr)
    return y[head:y.size - tail] if head < y.size else y[:0]


def _silent_ends(y: np.ndarray, sr: int) -> tuple[int, int]:
    """Samples of silence (100 ms blocks whose peak stays under :data:`QUIET_PEAK`) at the
    start and at the end of ``y``."""
    hop = max(1, sr // 10)
    n = y.size // hop
    if n == 0:
        return 0, 0
    blocks = y[:n * hop].reshape(n, hop)  # a view: no copy of a whole file's samples
    loud = np.flatnonzero(np.maximum(blocks.max(axis=1), -blocks.min(axis=1)) >= QUIET_PEAK)
    if loud.size == 0:
        return y.size, 0
    return int(loud[0] * hop), int(y.size - (loud[-1] + 1) * hop)


def _decoded(path: str | bytes, *, sr: int, length: float, positions: tuple[float, ...],
             ) -> list[np.ndarray]:
    """The planned segments of one file as decoded (:func:`load_segments` without the
    checks on what came out)."""
    import av

    container = _open(path)
    try:
        duration = duration_of(container)
        if duration is None or duration <= 0:
            return _cut(_decode_span(container, sr=sr, start=0.0, length=None),
                        sr=sr, length=length, positions=positions)
        segs = plan_segments(duration, length=length, positions=positions)
        ys = []
        for seg in segs:
            whole_file = seg.start == 0.0 and seg.length >= duration
            ys.append(_decode_span(container, sr=sr, start=seg.start,
                                   length=None if whole_file else seg.length))
        if any(y.size < 0.5 * s.length * sr for y, s in zip(ys, segs)):
            # The header promised more audio than the file holds (truncated
            # or damaged): plan again on what really decodes.
            container.seek(0)
            ys = _cut(_decode_span(container, sr=sr, start=0.0, length=None),
                      sr=sr, length=length, positions=positions)
        return ys
    except av.FFmpegError as exc:
        raise ItemError(f"audio could not be decoded ({_av_reason(exc)})") from None
    finally:
        container.close()


def _checked(ys: list[np.ndarray], *, sr: int) -> list[np.ndarray]:
    """``ys`` without segments too short to analyse; :class:`ItemError` when nothing is
    left or everything is silent."""
    if not any(y.size for y in ys):
        raise ItemError("no audio could be decoded (not really an audio file, or badly damaged)")
    ys = [y for y in ys if y.size >= MIN_SECONDS * sr]
    if not ys:
        raise ItemError(f"too little audio to analyse (under {MIN_SECONDS:g} s decoded)")
    if max(float(np.max(np.abs(y))) for y in ys) < SILENCE_PEAK:
        raise ItemError("the analysed audio is silent")
    return ys


def encode_clip(y: np.ndarray, *, sr: int, fmt: str = "mp3", bitrate: int = 128_000,
                quality: int = 7) -> bytes:
    """Encode mono float32 samples as an in-memory ``mp3`` or ``wav`` file.

    ``quality`` is LAME's -q (0 slowest/best .. 9 fastest): 7 encodes an 80 s clip in
    0.53 s instead of 0.83 s at the default, at the same bitrate.
    """
    import av

    if fmt not in ("mp3", "wav"):
        raise ValueError(f"unsupported clip format {fmt!r}: use mp3 or wav")
    buf = io.BytesIO()
    with av.open(buf, mode="w", format=fmt) as out:
        codec = "libmp3lame" if fmt == "mp3" else "pcm_s16le"
        stream = out.add_stream(codec, rate=sr, layout="mono")
        if fmt == "mp3":
            stream.bit_rate = bitrate
            stream.codec_context.options = {"compression_level": str(quality)}
        write_samples(out, stream, y, sr=sr)
    return buf.getvalue()


def write_samples(container, stream, y: np.ndarray, *, sr: int, block: int = 8192) -> None:
    """Feed ``y`` (``(n,)`` mono or ``(2, n)`` stereo float32) to an open encoder."""
    import av

    y = np.atleast_2d(np.asarray(y, dtype=np.float32))
    layout = "mono" if y.shape[0] == 1 else "stereo"
    fmt = stream.codec_context.format.name if stream.codec_context.format else "fltp"
    resampler = av.AudioResampler(format=fmt, layout=stream.layout.name, rate=stream.rate)
    pts = 0
    for i in range(0, y.shape[1], block):
        chunk = np.ascontiguousarray(y[:, i: i + block])
        frame = av.AudioFrame.from_ndarray(chunk, format="fltp", layout=layout)
        frame.sample_rate = sr
        frame.pts = pts
        pts += chunk.shape[1]
        for rs in resampler.resample(frame):
            for packet in stream.encode(rs):
                container.mux(packet)
    for rs in resampler.resample(None):
        for packet in stream.encode(rs):
            container.mux(packet)
    for packet in stream.encode(None):
        container.mux(packet)
