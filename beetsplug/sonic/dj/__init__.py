"""The DJ's side of a track: tempo and key from the audio, key notations and the Camelot
wheel, and how well two tracks mix (tempo change, key relation, transition score)."""
