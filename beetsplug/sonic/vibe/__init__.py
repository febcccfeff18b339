"""The vibe: what a DJ would say about a track, in a controlled vocabulary.

``vocabulary``  the tag lists, energy anchors and placements (configurable)
``local``       the offline, deterministic rule table
``llm``         the Gemini analyzer (structured output constrained to the vocabulary)
``space``       the vibe text, the offline vibe vector, and word queries
"""

from .vocabulary import Assessment, Vocabulary

__all__ = ["Assessment", "Vocabulary"]
