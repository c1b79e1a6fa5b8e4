"""How many logits each PaddleSeg 2.8.0 model returns in training (the losses must match).

PaddleSeg's train loop raises `The length of logits_list should equal to the types of
loss config` at the first iteration when `len(coef)` differs from this number. Read
from each model's `forward` in PaddleSeg 2.8.0 (`paddleseg/models/*.py`); where it
depends on the model's arguments (auxiliary heads, `backbone_indices`, boundary
heads) the count is computed from the config with PaddleSeg's defaults. Models not
listed (or whose count depends on more than their arguments: PointRend, KNet, SETR,
MscaleOCRNet, ...) are skipped by the rule.
"""

# Models whose training output count is fixed. The comment says what the outputs are.
_FIXED = {
    "AttentionUNet": 1, "DeepLabV3": 1, "DeepLabV3P": 1, "ENet": 1, "ESPNetV1": 1,
    "FCN": 1, "HarDNet": 1, "LPSNet": 1, "LRASPP": 1, "LinearSegmenter": 1,
    "MaskSegmenter": 1, "PPHumanSegLite": 1, "PPMobileSeg": 1, "SegFormer": 1,
    "SegNeXt": 1, "SegNet": 1, "SINet": 1, "TopFormer": 1, "UNet": 1, "UNetPlusPlus": 1,
    "BiSeNetV2": 5,        # main head + 4 auxiliary heads
    "BiseNetV1": 3,        # 2 context-path heads + fusion head
    "OCRNet": 2,           # OCR head + soft object regions
    "DANet": 4,            # fused, channel attention, position attention, auxiliary
    "DMNet": 2,            # main + FCN auxiliary head
    "DecoupledSegNet": 4,  # seg, body, edge, (seg, edge)
    "GSCNN": 4,            # seg, (seg, edge), edge, seg
    "HRNetW48Contrast": 2,  # seg + {seg, embed} for the contrast loss
    "ESPNetV2": 2,         # main + hierarchical auxiliary output
    "U2Net": 7, "U2Netp": 7,  # fused output + 6 side outputs
}

# Models with one main output plus one auxiliary output when a flag is on:
# {model: (flag, PaddleSeg's default)}.
_AUXILIARY_FLAG = {
    "ANN": ("enable_auxiliary_loss", True), "CCNet": ("enable_auxiliary_loss", True),
    "DNLNet": ("enable_auxiliary_loss", True), "EMANet": ("enable_auxiliary_loss", True),
    "FastSCNN": ("enable_auxiliary_loss", True), "GCNet": ("enable_auxiliary_loss", True),
    "GINet": ("enable_auxiliary_loss", True), "GloRe": ("enable_auxiliary_loss", True),
    "ISANet": ("enable_auxiliary_loss", True), "PSPNet": ("enable_auxiliary_loss", True),
    "DDRNet_23": ("enable_auxiliary_loss", False), "UPerNet": ("enable_auxiliary_loss", False),
    "PFPNNet": ("enable_auxiliary_loss", False), "RTFormer": ("use_aux_head", True),
}

# Models with one output per selected backbone stage: {model: default backbone_indices}.
_PER_BACKBONE_STAGE = {"PPLiteSeg": [2, 3, 4], "MobileSeg": [1, 2, 3]}


def _encnet(model_cfg):
    # Main + FCN auxiliary head, + the SE-loss output when use_se_loss (default True).
    return 2 + bool(model_cfg.get("use_se_loss", True))


def _stdcseg(model_cfg):
    # 3 segmentation heads + one boundary head per use_boundary_{2,4,8} flag that is on
    # (use_boundary_16 is accepted but never used by PaddleSeg 2.8.0's forward).
    flags = {"use_boundary_2": False, "use_boundary_4": False, "use_boundary_8": True}
    return 3 + sum(bool(model_cfg.get(flag, default)) for flag, default in flags.items())


def _unet3plus(model_cfg):
    # Deep supervision (forced on by is_CGM) returns 5 outputs, else 1.
    deep = model_cfg.get("is_deepsup", False) or model_cfg.get("is_CGM", False)
    return 5 if deep else 1


_COMPUTED = {"ENCNet": _encnet, "FastFCN": _encnet, "STDCSeg": _stdcseg,
             "UNet3Plus": _unet3plus}


def train_output_count(model_cfg):
    """Logits the model of `model_cfg` returns in training, or None when not known."""
    name = model_cfg.get("type")
    if name in _FIXED:
        return _FIXED[name]
    if name in _AUXILIARY_FLAG:
        flag, default = _AUXILIARY_FLAG[name]
        return 1 + bool(model_cfg.get(flag, default))
    if name in _PER_BACKBONE_STAGE:
        indices = model_cfg.get("backbone_indices", _PER_BACKBONE_STAGE[name])
        return len(indices) if isinstance(indices, list) else None
    if name in _COMPUTED:
        return _COMPUTED[name](model_cfg)
    return None
