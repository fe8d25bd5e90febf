"""ATST-SED sound event detection as a SpeechBrain plugin.

ATST-Frame (a frame-level audio transformer) fused with a CRNN, trained with
mean-teacher and interpolation-consistency objectives on DESED (Shao, Li, Li,
ICASSP 2024, "Fine-tune the pretrained ATST model for sound event detection").
"""

__version__ = "0.1.0"
