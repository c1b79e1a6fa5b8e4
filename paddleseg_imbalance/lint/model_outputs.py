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
# PPLiteSeg's stage 1 is STDC's stride-4 stage: `backbone_indices: [1, 2, 3, 4]` predicts
# at 1/4 of the input and returns 4 logits (1/4 main, then 1/8, 1/16, 1/32 auxiliary).
_PER_BACKBONE_STAGE = {"PPLiteSeg": [2, 3, 4], "MobileSeg": [1, 2, 3]}

# Model arguments with one entry per backbone stage (or a single entry the model repeats),
# with PaddleSeg's defaults: {model: {argument: default}}. PPLiteSeg asserts their lengths
# when it is built ("The length of arm_out_chs and backbone_indices should be equal").
PER_STAGE_ARGUMENTS = {"PPLiteSeg": {"arm_out_chs": [64, 96, 128],
                                     "seg_head_inter_chs": [64, 64, 64]}}


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
        indices = selected_backbone_stages(model_cfg)
        return len(indices) if isinstance(indices, list) else None
    if name in _COMPUTED:
        return _COMPUTED[name](model_cfg)
    return None


def selected_backbone_stages(model_cfg):
    """`backbone_indices` (PaddleSeg's default when absent) of a model with one output per
    selected backbone stage, or None for other models."""
    name = model_cfg.get("type")
    if name not in _PER_BACKBONE_STAGE:
        return None
    return model_cfg.get("backbone_indices", _PER_BACKBONE_STAGE[name])


# Backbones whose feature list holds one stage per halving, from 1/2 to 1/32 (PaddleSeg's
# STDC `feat_channels`): stage i is at stride 2 ** (i + 1).
_HALVING_BACKBONES = ("STDC1", "STDC2")


def output_stride(model_cfg):
    """The stride of the model's main logit map (input side / logit side), or None if unknown.

    PPLiteSeg predicts its main logit from its first selected backbone stage
    (`backbone_indices[0]`): [2, 3, 4] (the default) at 1/8, [1, 2, 3, 4] at 1/4.
    """
    backbone = model_cfg.get("backbone")
    if model_cfg.get("type") != "PPLiteSeg" or not isinstance(backbone, dict) \
            or backbone.get("type") not in _HALVING_BACKBONES:
        return None
    indices = selected_backbone_stages(model_cfg)
    if not isinstance(indices, list) or not indices or not isinstance(indices[0], int) \
            or isinstance(indices[0], bool) or not 0 <= indices[0] <= 4:
        return None
    return 2 ** (indices[0] + 1)
