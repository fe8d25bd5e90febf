"""Neural network lobes of ATST-SED: ATST-Frame, the CRNN parts, the model.

Authors
 * speechbrain-atst team 2026
"""

from speechbrain_atst.lobes.atst_frame import ATSTFrame
from speechbrain_atst.lobes.atst_sed import ATSTSED

__all__ = ["ATSTFrame", "ATSTSED"]
