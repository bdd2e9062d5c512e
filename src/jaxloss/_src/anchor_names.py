"""The migration table: anchor losses (torch, optax, PML, MONAI, ...) -> jaxloss calls.

One row per anchor call and option set. The same rows feed three things:

- ``jaxloss.get`` resolves the anchors' names (``"nll_loss"``, ``"BCEWithLogitsLoss"``,
  ``"torch.nn.functional.nll_loss"``, ``"monai.losses.DiceCELoss"``,
  ``"pml.MultiSimilarityLoss"``) to the jaxloss function of the row (see :func:`resolve`);
- ``tests/test_migration.py`` executes every row: the anchor itself where it is installed in
  the test environment (optax, scipy), otherwise goldens that
  ``tests/references/gen_migration.py`` produced from the anchor
  (``tests/references/migration.npz``), or the family test named in ``check`` that compares the
  same call with the anchor's goldens; a row that cannot be checked here says why;
- ``scripts/docs_migration.py`` writes the "Coming from ..." pages (``docs/migration/``).

This module is plain data: it imports nothing from jax, so the docs script and the golden
generator (run with the anchors' interpreter) can load it by path.

Name resolution (``resolve``). A name is tried, in order, as

1. a dotted name with an anchor prefix (``"torch.nn.functional.nll_loss"``, ``"F.nll_loss"``,
   ``"nn.NLLLoss"``, ``"optax.losses.hinge_loss"``, ``"monai.losses.DiceCELoss"``,
   ``"pml.MultiSimilarityLoss"``, ``"rax.softmax_loss"``, ...): the row of that anchor;
2. a bare anchor name (``"NLLLoss"``, ``"DiceCELoss"``): resolved when every anchor that uses
   the name maps it to the same jaxloss function. A bare name that two anchors use for different
   losses (``"TripletMarginLoss"`` is PML's mined batch loss and torch's explicit-triplet loss;
   ``"ContrastiveLoss"`` is PML's batch loss and sentence-transformers' pair loss;
   ``"multiclass_hinge_loss"`` is Weston-Watkins in torch/jaxloss and Crammer-Singer in optax)
   is **ambiguous** and resolves only with its anchor prefix; ``jaxloss.get`` then raises a
   ``ValueError`` that lists the prefixed spellings.

A registered jaxloss name or alias always wins over an anchor name (``get("multiclass_hinge_loss")``
stays jaxloss's Weston-Watkins loss; ``get("optax.multiclass_hinge_loss")`` is
``crammer_singer_hinge_loss``). ``get`` returns the function; the anchor's defaults that differ
from jaxloss's are in the row's ``kwargs`` and on the migration pages.
"""

from __future__ import annotations

import dataclasses
from typing import Any


@dataclasses.dataclass(frozen=True)
class Arg:
    """A keyword value that is one of the row's input arrays (``class_weights=Arg("weight")``)."""

    name: str

    def __repr__(self) -> str:
        return self.name


@dataclasses.dataclass(frozen=True)
class AnchorRow:
    """One anchor call and its jaxloss equivalent.

    Attributes:
      anchor: key of :data:`ANCHORS` (``"torch"``, ``"optax"``, ``"pml"``, ...).
      name: the anchor's name without its module (``"nll_loss"``, ``"DiceCELoss"``).
      aliases: further bare names of the same anchor entry (``"NLLLoss"`` beside ``"nll_loss"``).
      options: the anchor's options for this row, as the anchor spells them.
      loss: the registered jaxloss function.
      kwargs: jaxloss keywords reproducing ``options`` (:class:`Arg` values are input arrays).
      inputs: the input kind (:data:`KINDS`); its names are the jaxloss call's positional args.
      check: ``"optax"`` / ``"scipy"`` (the anchor runs in the test), ``"golden"`` (goldens from
        the anchor in ``tests/references/migration.npz``), ``"test:<path>"`` (that family test
        compares this call with the anchor's goldens) or ``"none: <why>"``.
      note: a deliberate difference, or how to read the mapping.
      scale: the jaxloss call times ``scale`` equals the anchor (``optax.l2_loss`` = 0.5 x²).
      tol: relative tolerance of the float32 comparison.
      utility: ``loss`` is a public jaxloss function that is not a registered loss (a solver,
        a soft operator, a loss factory or wrapper: ``jaxloss.gromov_wasserstein``,
        ``jaxloss.make_fenchel_young_loss``). The row is documented and checked like the others,
        but ``jaxloss.get`` (which returns registered losses only) does not resolve its names.
      module: the anchor's module when it is not the anchor's usual one (``"torch.nn."`` for a
        torch module class with no functional form).
    """

    anchor: str
    name: str
    loss: str
    inputs: str = ""
    options: str = ""
    kwargs: dict[str, Any] = dataclasses.field(default_factory=dict)
    check: str = "golden"
    aliases: tuple[str, ...] = ()
    note: str = ""
    scale: float = 1.0
    tol: float = 1e-4
    utility: bool = False
    module: str = ""

    @property
    def qualified(self) -> str:
        """The anchor's full name (``torch.nn.functional.nll_loss``)."""
        return (self.module or ANCHORS[self.anchor]["module"]) + self.name

    @property
    def ident(self) -> str:
        """A stable id (``torch/nll_loss/0``); the index counts rows of the same name."""
        same = [r for r in ROWS if r.anchor == self.anchor and r.name == self.name]
        return f"{self.anchor}/{self.name}/{same.index(self)}"

    def call(self) -> str:
        """The jaxloss call as text (``jaxloss.nll_loss(log_probs, labels, ignore_index=-100)``)."""
        args = list(KINDS[self.inputs]) if self.inputs else ["..."]
        args += [f"{k}={v!r}" for k, v in self.kwargs.items()]
        text = f"jaxloss.{self.loss}({', '.join(args)})"
        return f"{self.scale:g} * {text}" if self.scale != 1.0 else text


# anchor key -> title of its page, module prefix of ``name``, prefixes ``get`` accepts.
ANCHORS: dict[str, dict[str, Any]] = {
    "torch": {
        "title": "PyTorch (torch.nn / torch.nn.functional)",
        "module": "torch.nn.functional.",
        "prefixes": ("torch.nn.functional.", "torch.nn.", "torch.", "F.", "nn."),
    },
    "torchvision": {
        "title": "torchvision.ops",
        "module": "torchvision.ops.",
        "prefixes": ("torchvision.ops.", "torchvision."),
    },
    "optax": {"title": "optax", "module": "optax.losses.", "prefixes": ("optax.losses.", "optax.")},
    "pml": {
        "title": "pytorch-metric-learning (PML)",
        "module": "pytorch_metric_learning.losses.",
        "prefixes": ("pytorch_metric_learning.losses.", "pytorch_metric_learning.", "pml.", "PML."),
    },
    "monai": {"title": "MONAI", "module": "monai.losses.", "prefixes": ("monai.losses.", "monai.")},
    "rax": {"title": "rax", "module": "rax.", "prefixes": ("rax.",)},
    "ott": {
        "title": "ott-jax, POT and scipy (optimal transport, divergences)",
        "module": "",
        "prefixes": ("",),
    },
    "keras": {
        "title": "Keras 3",
        "module": "keras.losses.",
        "prefixes": ("keras.losses.", "keras.", "tf.keras.losses.", "tf.keras."),
    },
    "tfa": {
        "title": "TensorFlow Addons",
        "module": "tfa.losses.",
        "prefixes": ("tfa.losses.", "tensorflow_addons.losses.", "tfa."),
    },
    "st": {
        "title": "sentence-transformers",
        "module": "sentence_transformers.losses.",
        "prefixes": ("sentence_transformers.losses.", "sentence_transformers.", "st."),
    },
    "open_clip": {
        "title": "open_clip",
        "module": "open_clip.loss.",
        "prefixes": ("open_clip.loss.", "open_clip."),
    },
    "trl": {
        "title": "TRL and Liger-Kernel",
        "module": "",
        "prefixes": ("trl.", "liger_kernel.chunked_loss.", "liger_kernel.", "liger."),
    },
}

# input kind -> the jaxloss call's positional argument names (builders: gen_migration.py).
KINDS: dict[str, tuple[str, ...]] = {
    "logp_int": ("log_probs", "labels"),
    "logp_ign": ("log_probs", "labels"),
    "logits_int": ("logits", "labels"),
    "logits_ign": ("logits", "labels"),
    "logits_soft": ("logits", "labels"),
    "logits_bin": ("logits", "labels"),
    "probs_bin": ("probabilities", "labels"),
    "probs_cat": ("probabilities", "labels"),
    "probs_sparse": ("probabilities", "labels"),
    "reg": ("predictions", "targets"),
    "reg_pos": ("predictions", "targets"),
    "gauss": ("mean", "targets", "variance"),
    "kl": ("log_predictions", "targets"),
    "kl_log": ("log_predictions", "targets"),
    "rank_pm1": ("x1", "x2", "labels"),
    "dist_pm1": ("predictions", "labels"),
    "scores_int": ("scores", "labels"),
    "scores_pm1": ("scores", "labels"),
    "scores_01": ("scores", "labels"),
    "multilabel": ("scores", "targets"),
    "cos_pairs": ("x1", "x2", "labels"),
    "triplets": ("anchors", "positives", "negatives"),
    "boxes": ("boxes1", "boxes2"),
    "ctc": ("logits", "logit_paddings", "labels", "label_paddings"),
    "emb": ("embeddings", "labels"),
    "emb_pair": ("embeddings", "labels"),
    "emb_sorted": ("embeddings", "labels"),
    "emb_only": ("embeddings",),
    "centers": ("centers",),
    "seg": ("predictions", "targets"),
    "seg_bin": ("predictions", "targets"),
    "seg_dist": ("predictions", "targets", "dist_matrix"),
    "img": ("predictions", "targets"),
    "disp": ("displacement",),
    "lists": ("scores", "labels"),
    "clouds": ("x", "y"),
    "samples_1d": ("u_values", "v_values"),
    "points_1d": ("x", "y"),
    "pair_scores": ("x1", "x2", "scores"),
    "pair_similar": ("x1", "x2", "similar"),
    "mnrl": ("anchors", "positives"),
    "clip": ("image_embeddings", "text_embeddings"),
    "ntxent": ("embeddings", "labels"),
}

_F = "test:tests/"


def _rows() -> tuple[AnchorRow, ...]:
    R = AnchorRow
    W = Arg("weight")
    # fmt: off
    rows = [
        # ---------------------------------------------------------------- torch
        R('torch', 'nll_loss', 'nll_loss', 'logp_int', aliases=('NLLLoss',)),
        R('torch', 'nll_loss', 'nll_loss', 'logp_ign', 'weight=weight, ignore_index=-100', {'class_weights': W, 'ignore_index': -100}, note='mean is sum(w_y l)/sum(w_y), as torch; ignore_index defaults to None in jaxloss'),
        R('torch', 'cross_entropy', 'softmax_cross_entropy', 'logits_int', aliases=('CrossEntropyLoss',)),
        R('torch', 'cross_entropy', 'softmax_cross_entropy', 'logits_int', 'label_smoothing=0.1', {'label_smoothing': 0.1}),
        R('torch', 'cross_entropy', 'softmax_cross_entropy', 'logits_ign', 'weight=weight, ignore_index=-100', {'class_weights': W, 'ignore_index': -100}, note="jaxloss's ignore_index defaults to None: pass ignore_index=-100 explicitly"),
        R('torch', 'cross_entropy', 'softmax_cross_entropy', 'logits_soft', 'probability targets'),
        R('torch', 'binary_cross_entropy', 'binary_cross_entropy', 'probs_bin', aliases=('BCELoss',)),
        R('torch', 'binary_cross_entropy_with_logits', 'sigmoid_binary_cross_entropy', 'logits_bin', aliases=('BCEWithLogitsLoss',)),
        R('torch', 'binary_cross_entropy_with_logits', 'sigmoid_binary_cross_entropy', 'logits_bin', 'pos_weight=pos_weight', {'pos_weight': Arg('pos_weight')}),
        R('torch', 'binary_cross_entropy_with_logits', 'sigmoid_binary_cross_entropy', 'logits_bin', 'weight=w (per element)', {'weights': W, 'reduction': 'sum'}, scale=1 / 24, note="torch's weight= gives mean(w*l); jaxloss's weights= gives sum(w*l)/sum(w), so reduction='sum' divided by the count reproduces torch (24 elements here)"),
        R('torch', 'mse_loss', 'squared_error', 'reg', aliases=('MSELoss',)),
        R('torch', 'l1_loss', 'absolute_error', 'reg', aliases=('L1Loss',)),
        R('torch', 'huber_loss', 'huber_loss', 'reg', 'delta=0.5', {'delta': 0.5}, aliases=('HuberLoss',)),
        R('torch', 'smooth_l1_loss', 'smooth_l1_loss', 'reg', 'beta=0.5', {'beta': 0.5}, aliases=('SmoothL1Loss',)),
        R('torch', 'kl_div', 'kl_divergence', 'kl', "reduction='batchmean'", aliases=('KLDivLoss',), note="jaxloss's 'mean' is per example (torch's 'batchmean'), not torch's elementwise 'mean'"),
        R('torch', 'kl_div', 'kl_divergence', 'kl_log', "reduction='batchmean', log_target=True", {'log_targets': True}),
        R('torch', 'poisson_nll_loss', 'poisson_nll_loss', 'reg', aliases=('PoissonNLLLoss',)),
        R('torch', 'poisson_nll_loss', 'poisson_nll_loss', 'reg_pos', 'log_input=False, full=True', {'log_input': False, 'full': True}),
        R('torch', 'gaussian_nll_loss', 'gaussian_nll_loss', 'gauss', aliases=('GaussianNLLLoss',)),
        R('torch', 'margin_ranking_loss', 'margin_ranking_loss', 'rank_pm1', 'margin=0.5', {'margin': 0.5}, aliases=('MarginRankingLoss',)),
        R('torch', 'hinge_embedding_loss', 'hinge_embedding_loss', 'dist_pm1', aliases=('HingeEmbeddingLoss',)),
        R('torch', 'multi_margin_loss', 'multiclass_hinge_loss', 'scores_int', aliases=('MultiMarginLoss',), note="Weston-Watkins, as torch; optax's multiclass_hinge_loss is Crammer-Singer"),
        R('torch', 'multi_margin_loss', 'multiclass_hinge_loss', 'scores_int', 'p=2, margin=0.5', {'p': 2, 'margin': 0.5}),
        R('torch', 'multilabel_margin_loss', 'multilabel_margin_loss', 'multilabel', aliases=('MultiLabelMarginLoss',)),
        R('torch', 'cosine_embedding_loss', 'cosine_embedding_loss', 'cos_pairs', 'margin=0.2', {'margin': 0.2}, aliases=('CosineEmbeddingLoss',)),
        R('torch', 'triplet_margin_loss', 'triplet_margin_loss', 'triplets', aliases=('TripletMarginLoss',), note="explicit (anchor, positive, negative) triplets; PML's TripletMarginLoss is triplet_loss"),
        R('torch', 'triplet_margin_loss', 'triplet_margin_loss', 'triplets', 'margin=0.5, swap=True', {'margin': 0.5, 'swap': True}),
        R('torch', 'ctc_loss', 'ctc_loss', 'ctc', "reduction='none', log_softmax inputs [T, N, C]", {'reduction': 'none'}, aliases=('CTCLoss',), note='jaxloss takes [N, T, C] logits and paddings (optax layout), not lengths'),
        R('torch', 'linear_cross_entropy', 'fused_linear_cross_entropy', options='', check=_F + 'test_llm_fused_cross_entropy.py', aliases=('LinearCrossEntropyLoss',), note="weight is [D, V] (the transpose of torch's [V, D])"),
        R('torch', 'triplet_margin_with_distance_loss', 'triplet_margin_loss', aliases=('TripletMarginWithDistanceLoss',), options='distance_function=f, margin=0.5, swap=True', kwargs={'distance_function': Arg('f'), 'margin': 0.5, 'swap': True}, check=_F + 'test_assorted.py', note='distance_function takes two [N, D] batches and returns the [N] row distances, as torch'),
        R('torch', 'AdaptiveLogSoftmaxWithLoss', 'adaptive_log_softmax_loss', module='torch.nn.', options='in_features=D, n_classes=V, cutoffs=cutoffs', kwargs={'cutoffs': Arg('cutoffs')}, check=_F + 'test_assorted.py', note="the module's loss output; head and tail weights are arguments in the [in, out] layout (the transposes of torch's), cluster sizes follow from their shapes (no div_value)"),
        # ---------------------------------------------------------------- torchvision
        R('torchvision', 'sigmoid_focal_loss', 'sigmoid_focal_loss', 'logits_bin', "reduction='none'", {'reduction': 'none'}),
        R('torchvision', 'sigmoid_focal_loss', 'sigmoid_focal_loss', 'logits_bin', "alpha=-1, gamma=1.5, reduction='mean'", {'alpha': None, 'gamma': 1.5}, note="torchvision's alpha=-1 (no weighting) is alpha=None"),
        R('torchvision', 'generalized_box_iou_loss', 'generalized_box_iou_loss', 'boxes', "reduction='none'", {'reduction': 'none'}),
        R('torchvision', 'distance_box_iou_loss', 'distance_box_iou_loss', 'boxes', "reduction='none'", {'reduction': 'none'}),
        R('torchvision', 'complete_box_iou_loss', 'complete_box_iou_loss', 'boxes', "reduction='none'", {'reduction': 'none'}),
        # ---------------------------------------------------------------- optax
        R('optax', 'softmax_cross_entropy', 'softmax_cross_entropy', 'logits_soft', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'softmax_cross_entropy_with_integer_labels', 'softmax_cross_entropy', 'logits_int', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'safe_softmax_cross_entropy', 'softmax_cross_entropy', 'logits_soft', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'sigmoid_binary_cross_entropy', 'sigmoid_binary_cross_entropy', 'logits_bin', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'sigmoid_focal_loss', 'sigmoid_focal_loss', 'logits_bin', 'alpha=0.25', {'alpha': 0.25, 'reduction': 'none'}, check='optax', note="optax's alpha defaults to None, jaxloss's (torchvision's) to 0.25"),
        R('optax', 'squared_error', 'squared_error', 'reg', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'l2_loss', 'squared_error', 'reg', '', {'reduction': 'none'}, check='optax', scale=0.5, note='optax.l2_loss is 0.5 * squared_error'),
        R('optax', 'huber_loss', 'huber_loss', 'reg', 'delta=0.5', {'delta': 0.5, 'reduction': 'none'}, check='optax'),
        R('optax', 'log_cosh', 'log_cosh', 'reg', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'hinge_loss', 'hinge_loss', 'scores_pm1', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'multiclass_hinge_loss', 'crammer_singer_hinge_loss', 'scores_int', '', {'reduction': 'none'}, check='optax', note="optax's multiclass hinge is Crammer-Singer; jaxloss.multiclass_hinge_loss is torch's Weston-Watkins"),
        R('optax', 'perceptron_loss', 'perceptron_loss', 'scores_pm1', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'multiclass_perceptron_loss', 'perceptron_loss', 'scores_int', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'sparsemax_loss', 'sparsemax_loss', 'scores_01', '', {'reduction': 'none'}, check='optax', note='binary form: labels in {0, 1}'),
        R('optax', 'multiclass_sparsemax_loss', 'sparsemax_loss', 'scores_int', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'kl_divergence', 'kl_divergence', 'kl', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'kl_divergence_with_log_targets', 'kl_divergence', 'kl_log', '', {'log_targets': True, 'reduction': 'none'}, check='optax'),
        R('optax', 'convex_kl_divergence', 'generalized_kl_divergence', 'kl', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'generalized_kl_divergence', 'generalized_kl_divergence', 'kl', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'poly_loss_cross_entropy', 'poly1_cross_entropy', 'logits_soft', 'epsilon=2.0', {'epsilon': 2.0, 'reduction': 'none'}, check='optax'),
        R('optax', 'ctc_loss', 'ctc_loss', 'ctc', '', {'reduction': 'none'}, check='optax'),
        R('optax', 'ntxent', 'ntxent', 'ntxent', 'temperature=0.07', {}, check='optax'),
        R('optax', 'multiclass_generalized_dice_loss', 'multiclass_generalized_dice_loss', 'seg', 'one-hot targets', check='optax', note='jaxloss also takes the integer targets used here; optax takes their one-hot form'),
        R('optax', 'cosine_similarity', 'cosine_similarity', 'reg', '', {'reduction': 'none'}, check='optax', note='a zero vector gives similarity 0 with a finite gradient (optax: NaN gradient at epsilon=0); a similarity: minimise cosine_distance'),
        R('optax', 'cosine_distance', 'cosine_distance', 'reg', '', {'reduction': 'none'}, check='optax', note='a zero vector gives distance 1 with a finite gradient (optax: NaN gradient at epsilon=0)'),
        R('optax', 'make_fenchel_young_loss', 'make_fenchel_young_loss', options='max_fun=jax.nn.logsumexp', check=_F + 'test_assorted.py', utility=True, note="a factory (not a registered loss): make_fenchel_young_loss(max_fun) returns the loss, which takes (scores, targets) and the library's weights/where/reduction; optax's output is reduction='none'"),
        R('optax', 'ctc_loss_with_forward_probs', 'ctc_loss_with_forward_probs', 'ctc', '', {'reduction': 'none'}, check=_F + 'test_assorted.py', note="returns (loss, logalpha_phi, logalpha_emit) as optax; optax's loss is reduction='none'"),
        # ---------------------------------------------------------------- PML
        R('pml', 'MultiSimilarityLoss', 'multi_similarity_loss', 'emb'),
        R('pml', 'MultiSimilarityLoss', 'multi_similarity_loss', 'emb', 'alpha=1.5, beta=8, base=0.3', {'alpha': 1.5, 'beta': 8.0, 'base': 0.3}),
        R('pml', 'CircleLoss', 'circle_loss', 'emb'),
        R('pml', 'CircleLoss', 'circle_loss', 'emb', 'm=0.25, gamma=32', {'m': 0.25, 'gamma': 32.0}),
        R('pml', 'GeneralizedLiftedStructureLoss', 'generalized_lifted_structure_loss', 'emb', '', {'normalize_embeddings': True}, note='PML normalises embeddings in its default distance'),
        R('pml', 'LiftedStructureLoss', 'lifted_structure_loss', 'emb', '', {'normalize_embeddings': True}),
        R('pml', 'NCALoss', 'nca_loss', 'emb', '', {'normalize_embeddings': True}),
        R('pml', 'AngularLoss', 'angular_loss', 'emb', 'alpha=40 (degrees)', note='angles in radians: alpha=40° is the default 0.698'),
        R('pml', 'TupletMarginLoss', 'tuplet_margin_loss', 'emb', 'margin=5.73 (degrees), scale=64'),
        R('pml', 'ContrastiveLoss', 'batch_contrastive_loss', 'emb', 'pos_margin=0.3, neg_margin=1.2, distance=LpDistance(normalize_embeddings=False)', {'pos_margin': 0.3, 'neg_margin': 1.2}),
        R('pml', 'TripletMarginLoss', 'triplet_loss', 'emb', 'margin=0.2, distance=LpDistance(normalize_embeddings=False)', {'margin': 0.2, 'mining': 'batch_all'}, note="mean over all triplets (PML's AvgNonZeroReducer averages the positive ones)"),
        R('pml', 'SupConLoss', 'supervised_contrastive_loss', 'emb', 'temperature=0.1', {'temperature': 0.1}),
        R('pml', 'FastAPLoss', 'fast_ap_loss', 'emb'),
        R('pml', 'SmoothAPLoss', 'smooth_ap_loss', 'emb_sorted', note='PML needs a class-balanced batch sorted by label with as many classes as items per class; jaxloss takes any batch'),
        R('pml', 'HistogramLoss', 'histogram_loss', 'emb'),
        R('pml', 'LpRegularizer', 'embedding_norm_regularization', 'emb_only', note='pytorch_metric_learning.regularizers (an embedding_regularizer): add it to the loss yourself'),
        R('pml', 'ZeroMeanRegularizer', 'zero_mean_regularization', 'emb_only', note='pytorch_metric_learning.regularizers'),
        R('pml', 'CenterInvariantRegularizer', 'center_invariant_regularization', 'centers', note="pytorch_metric_learning.regularizers (a weight_regularizer); centers are [dim, classes], the transpose of PML's W"),
        R('pml', 'RegularFaceRegularizer', 'regular_face_regularization', 'centers', note="pytorch_metric_learning.regularizers; centers are [dim, classes], the transpose of PML's W"),
        R('pml', 'SparseCentersRegularizer', 'sparse_centers_regularization', 'centers', 'num_classes=4, centers_per_class=3', {'centers_per_class': 3}, note='pytorch_metric_learning.regularizers; centers are [dim, classes * centers_per_class], class-major columns (the transpose of SoftTriple\'s fc)'),
        R('pml', 'NTXentLoss', 'ntxent', 'ntxent', 'temperature=0.07', check=_F + 'test_embedding_softmax.py'),
        R('pml', 'NPairsLoss', 'npairs_loss', check=_F + 'test_embedding_proxies.py'),
        R('pml', 'ArcFaceLoss', 'arcface_loss', options='margin=28.6 (degrees), scale=64', check=_F + 'test_embedding_softmax.py', note='margin in radians; centers are [dim, classes]'),
        R('pml', 'SubCenterArcFaceLoss', 'sub_center_arcface_loss', check=_F + 'test_embedding_proxies.py'),
        R('pml', 'CosFaceLoss', 'cosface_loss', check=_F + 'test_embedding_softmax.py'),
        R('pml', 'SphereFaceLoss', 'sphereface_loss', check=_F + 'test_embedding_proxies.py'),
        R('pml', 'LargeMarginSoftmaxLoss', 'large_margin_softmax_loss', check=_F + 'test_embedding_proxies.py'),
        R('pml', 'ProxyAnchorLoss', 'proxy_anchor_loss', check=_F + 'test_embedding_proxies.py', note='proxies are [dim, classes]'),
        R('pml', 'SoftTripleLoss', 'soft_triple_loss', check=_F + 'test_embedding_proxies.py'),
        R('pml', 'MarginLoss', 'margin_loss', check=_F + 'test_embedding_proxies.py'),
        R('pml', 'VICRegLoss', 'vicreg_loss', check=_F + 'test_self_supervised.py'),
        # ---------------------------------------------------------------- MONAI
        R('monai', 'DiceLoss', 'dice_loss', 'seg', 'softmax=True, to_onehot_y=True', note='channel-last inputs; jaxloss applies softmax by default, MONAI applies none'),
        R('monai', 'DiceLoss', 'dice_loss', 'seg', 'sigmoid=True, to_onehot_y=True', {'activation': 'sigmoid'}),
        R('monai', 'DiceLoss', 'dice_loss', 'seg', 'softmax=True, to_onehot_y=True, include_background=False, squared_pred=True', {'include_background': False, 'squared': True}),
        R('monai', 'DiceLoss', 'jaccard_loss', 'seg', 'softmax=True, to_onehot_y=True, jaccard=True'),
        R('monai', 'GeneralizedDiceLoss', 'generalized_dice_loss', 'seg', 'softmax=True, to_onehot_y=True'),
        R('monai', 'TverskyLoss', 'tversky_loss', 'seg', 'softmax=True, to_onehot_y=True, alpha=0.3, beta=0.7', {'alpha': 0.3, 'beta': 0.7}),
        R('monai', 'DiceCELoss', 'dice_ce_loss', 'seg', 'softmax=True, to_onehot_y=True'),
        R('monai', 'DiceFocalLoss', 'dice_focal_loss', 'seg', 'softmax=True, to_onehot_y=True'),
        R('monai', 'FocalLoss', 'segmentation_focal_loss', 'seg', 'to_onehot_y=True'),
        R('monai', 'FocalLoss', 'segmentation_focal_loss', 'seg', 'to_onehot_y=True, use_softmax=True', {'activation': 'softmax'}),
        R('monai', 'GeneralizedDiceFocalLoss', 'generalized_dice_focal_loss', 'seg', 'softmax=True, to_onehot_y=True'),
        R('monai', 'GeneralizedWassersteinDiceLoss', 'generalized_wasserstein_dice_loss', 'seg_dist', 'dist_matrix=M', note='the distance matrix is the third positional argument; channel-last logits'),
        R('monai', 'MCCLoss', 'mcc_loss', check=_F + 'test_segmentation_compound.py'),
        R('monai', 'HausdorffDTLoss', 'hausdorff_dt_loss', check=_F + 'test_segmentation_distance.py'),
        R('monai', 'LogHausdorffDTLoss', 'hausdorff_dt_loss', options='', kwargs={'log': True}, check=_F + 'test_segmentation_distance.py'),
        R('monai', 'BoundaryLoss', 'boundary_loss', check=_F + 'test_segmentation_distance.py'),
        R('monai', 'SoftclDiceLoss', 'soft_cldice_loss', check=_F + 'test_segmentation_distance.py'),
        R('monai', 'SoftDiceclDiceLoss', 'soft_dice_cldice_loss', check=_F + 'test_segmentation_distance.py'),
        R('monai', 'AsymmetricFocalLoss', 'asymmetric_focal_loss', check=_F + 'test_segmentation_options.py'),
        R('monai', 'AsymmetricFocalTverskyLoss', 'asymmetric_focal_tversky_loss', check=_F + 'test_segmentation_options.py'),
        R('monai', 'AsymmetricUnifiedFocalLoss', 'asymmetric_unified_focal_loss', check=_F + 'test_segmentation_options.py'),
        R('monai', 'SSIMLoss', 'ssim_loss', 'img', 'spatial_dims=2, data_range=1.0', note='channel-last images'),
        R('monai', 'BendingEnergyLoss', 'bending_energy_loss', 'disp'),
        R('monai', 'DiffusionLoss', 'diffusion_loss', 'disp'),
        R('monai', 'LocalNormalizedCrossCorrelationLoss', 'local_normalized_cross_correlation_loss', check=_F + 'test_registration.py'),
        R('monai', 'GlobalMutualInformationLoss', 'global_mutual_information_loss', check=_F + 'test_registration.py'),
        R('monai', 'BoxGIoULoss', 'generalized_box_iou_loss', check=_F + 'test_detection_boxes.py', note='3-D boxes [..., 6]'),
        R('monai', 'BarlowTwinsLoss', 'barlow_twins_loss', check=_F + 'test_self_supervised.py'),
        R('monai', 'AUCMLoss', 'aucm_loss', options='margin=1.0, imratio=None, version="v1"', check=_F + 'test_imaging_more.py', note="MONAI's parameters a, b, alpha are arguments (scores, labels, a, b, alpha); minimise over a, b and maximise over alpha yourself"),
        R('monai', 'PatchAdversarialLoss', 'patch_adversarial_loss', options='criterion="least_squares"', kwargs={'target_is_real': True, 'for_discriminator': True}, check=_F + 'test_imaging_more.py', note='target_is_real / for_discriminator are keywords of the call; "bce" works on logits with log-sigmoid (MONAI saturates past |x| ~ 17 in float32 and clamps the log at -100)'),
        R('monai', 'DeepSupervisionLoss', 'deep_supervision_loss', options='loss=DiceLoss(...), weight_mode="exp"', kwargs={'weight_mode': 'exp'}, check=_F + 'test_imaging_more.py', utility=True, note='a wrapper (not a registered loss): deep_supervision_loss(loss_fn, predictions, targets); channel-last levels, targets resized with nearest-exact'),
        # ---------------------------------------------------------------- rax
        R('rax', 'softmax_loss', 'softmax_ranking_loss', 'lists'),
        R('rax', 'listmle_loss', 'listmle_loss', 'lists'),
        R('rax', 'poly1_softmax_loss', 'poly1_softmax_loss', 'lists'),
        R('rax', 'unique_softmax_loss', 'unique_softmax_loss', 'lists'),
        R('rax', 'pairwise_hinge_loss', 'pairwise_hinge_loss', 'lists'),
        R('rax', 'pairwise_logistic_loss', 'pairwise_logistic_loss', 'lists'),
        R('rax', 'pairwise_mse_loss', 'pairwise_mse_loss', 'lists'),
        R('rax', 'pairwise_soft_zero_one_loss', 'pairwise_soft_zero_one_loss', 'lists'),
        R('rax', 'pairwise_qr_loss', 'pairwise_qr_loss', 'lists'),
        R('rax', 'approx_t12n(rax.ndcg_metric)', 'approx_ndcg_loss', 'lists', aliases=()),
        # ---------------------------------------------------------------- ott / POT / scipy
        R('ott', 'scipy.stats.wasserstein_distance', 'wasserstein_1d', 'samples_1d', check='scipy'),
        R('ott', 'scipy.stats.energy_distance', 'energy_distance', 'points_1d', '', {'squared': False}, check='scipy'),
        R('ott', 'scipy.spatial.distance.jensenshannon', 'js_divergence', 'kl_log', 'base=e, squared', {'reduction': 'none'}, check='scipy', note='jaxloss returns the squared distance (the divergence)'),
        R('ott', 'ot.wasserstein_1d', 'wasserstein_1d', 'samples_1d', 'p=2', {'p': 2.0}),
        R('ott', 'ot.sliced_wasserstein_distance', 'sliced_wasserstein', check=_F + 'test_distribution_extra.py', note="pass the anchor's projections to agree exactly"),
        R('ott', 'ot.max_sliced_wasserstein_distance', 'max_sliced_wasserstein', check=_F + 'test_distribution_extra.py'),
        R('ott', 'ot.gaussian.bures_wasserstein_distance', 'gaussian_wasserstein', check=_F + 'test_distribution_extra.py'),
        R('ott', 'ot.gaussian.empirical_bures_wasserstein_distance', 'empirical_gaussian_wasserstein', check=_F + 'test_distribution_extra.py'),
        R('ott', 'ott.tools.sinkhorn_divergence.sinkdiv', 'sinkhorn_divergence', check=_F + 'test_distribution_ot.py'),
        R('ott', 'ott.geometry.costs.SoftDTW', 'soft_dtw', check=_F + 'test_distribution_ot.py'),
        R('ott', 'ott.solvers.quadratic.gromov_wasserstein.GromovWasserstein', 'gromov_wasserstein', options='QuadraticProblem(Geometry(cost_x), Geometry(cost_y)), epsilon=e', kwargs={'epsilon': Arg('e')}, check=_F + 'test_distribution_gw.py', utility=True, note='a solver returning GWOutput (reg_gw_cost, coupling, ...); fused_cost= / fused_penalty= give fused GW'),
        R('ott', 'ot.gromov.entropic_gromov_wasserstein2', 'gromov_wasserstein', options='loss_fun="square_loss", epsilon=e', kwargs={'epsilon': Arg('e')}, check=_F + 'test_distribution_gw.py', utility=True, note="POT's square-loss iteration uses twice this linearisation: see the POT mapping guide for the epsilon and value correspondence"),
        R('ott', 'ot.emd2', 'emd2', options='a, b uniform, M', check=_F + 'test_distribution_exact_ot.py', utility=True, note='exact OT cost of a cost matrix (an alias of exact_ot); uniform marginals only'),
        R('ott', 'ott.tools.unreg.hungarian', 'exact_ot', check=_F + 'test_distribution_exact_ot.py', utility=True, note='returns ExactOTOutput (cost, coupling); uniform marginals only'),
        R('ott', 'ott.tools.unreg.wassdis_p', 'exact_wasserstein', options='p=2', check=_F + 'test_distribution_exact_ot.py', note='batched; n != m is solved as POT emd2 does (ott asserts n = m)'),
        R('ott', 'ott.tools.soft_sort.quantile', 'soft_quantile', check=_F + 'test_distribution_soft_sort_more.py', utility=True, note='levels q given out of order come back in the order of q; q is required'),
        R('ott', 'ott.tools.soft_sort.quantize', 'soft_quantize', options='num_levels=10', check=_F + 'test_distribution_soft_sort_more.py', utility=True),
        R('ott', 'ott.tools.soft_sort.quantile_normalization', 'soft_quantile_normalization', check=_F + 'test_distribution_soft_sort_more.py', utility=True),
        # ---------------------------------------------------------------- Keras
        R('keras', 'BinaryCrossentropy', 'binary_cross_entropy', 'probs_bin', '', aliases=('binary_crossentropy',)),
        R('keras', 'BinaryCrossentropy', 'sigmoid_binary_cross_entropy', 'logits_bin', 'from_logits=True'),
        R('keras', 'CategoricalCrossentropy', 'categorical_cross_entropy', 'probs_cat', '', aliases=('categorical_crossentropy',)),
        R('keras', 'CategoricalCrossentropy', 'softmax_cross_entropy', 'logits_soft', 'from_logits=True'),
        R('keras', 'SparseCategoricalCrossentropy', 'categorical_cross_entropy', 'probs_sparse', '', aliases=('sparse_categorical_crossentropy',)),
        R('keras', 'MeanSquaredError', 'squared_error', 'reg', aliases=('mean_squared_error',)),
        R('keras', 'MeanAbsoluteError', 'absolute_error', 'reg', aliases=('mean_absolute_error',)),
        R('keras', 'MeanAbsolutePercentageError', 'absolute_percentage_error', 'reg_pos', aliases=('mean_absolute_percentage_error',), note='in percent, as Keras'),
        R('keras', 'MeanSquaredLogarithmicError', 'squared_logarithmic_error', 'reg_pos', aliases=('mean_squared_logarithmic_error',)),
        R('keras', 'Huber', 'huber_loss', 'reg', 'delta=0.5', {'delta': 0.5}),
        R('keras', 'LogCosh', 'log_cosh', 'reg', aliases=('log_cosh',)),
        R('keras', 'Hinge', 'hinge_loss', 'scores_pm1', 'labels in {-1, 1}'),
        R('keras', 'SquaredHinge', 'squared_hinge_loss', 'scores_pm1', 'labels in {-1, 1}'),
        R('keras', 'Circle', 'circle_loss', check=_F + 'test_embedding_structure.py'),
        R('keras', 'CategoricalGeneralizedCrossEntropy', 'generalized_cross_entropy', check=_F + 'test_classification_probabilities.py'),
        R('keras', 'BinaryFocalCrossentropy', 'sigmoid_focal_loss', options='gamma=2.0 (probabilities)', kwargs={'alpha': None, 'gamma': 2.0, 'from_logits': False}, check=_F + 'test_classification_options.py', aliases=('binary_focal_crossentropy',), note="Keras's apply_class_balancing=False is alpha=None (jaxloss defaults to torchvision's alpha=0.25); probabilities are clipped to [1e-7, 1 - 1e-7] as Keras"),
        R('keras', 'CategoricalFocalCrossentropy', 'softmax_focal_loss', options='alpha=0.25, gamma=2.0 (probabilities)', kwargs={'alpha': 0.25, 'gamma': 2.0, 'from_logits': False}, check=_F + 'test_classification_options.py', aliases=('categorical_focal_crossentropy',), note='one-hot or soft targets; label_smoothing= as Keras'),
        R('keras', 'CosineSimilarity', 'cosine_similarity', options='axis=-1', kwargs={'epsilon': 1e-14}, check=_F + 'test_classification_options.py', scale=-1.0, aliases=('cosine_similarity',), note='Keras returns -similarity (= cosine_distance - 1) and floors the norms at 1e-7 (epsilon=1e-14 on the squared norms)'),
        # ---------------------------------------------------------------- TF-Addons
        R('tfa', 'WeightedKappaLoss', 'weighted_kappa_loss', options='num_classes=C, weightage="quadratic"', kwargs={'num_classes': Arg('C')}, check=_F + 'test_assorted.py', note='transcribed: TF-Addons needs TensorFlow, so the expected values are derived by hand from its documented formula (and its own example, -1.1611923), not by running it; integer labels or one-hot rows'),
        # ---------------------------------------------------------------- sentence-transformers
        R('st', 'CosineSimilarityLoss', 'cosine_similarity_loss', 'pair_scores'),
        R('st', 'CoSENTLoss', 'cosent_loss', 'pair_scores'),
        R('st', 'AnglELoss', 'angle_loss', 'pair_scores'),
        R('st', 'ContrastiveLoss', 'contrastive_loss', 'pair_similar', 'distance_metric=cosine, margin=0.5', {'margin': 0.5, 'metric': 'cosine'}),
        R('st', 'OnlineContrastiveLoss', 'online_contrastive_loss', 'pair_similar', '', {'reduction': 'sum'}, note='sentence-transformers sums over the selected hard pairs'),
        R('st', 'MultipleNegativesRankingLoss', 'multiple_negatives_ranking_loss', 'mnrl'),
        R('st', 'MultipleNegativesSymmetricRankingLoss', 'multiple_negatives_symmetric_ranking_loss', 'mnrl'),
        R('st', 'GISTEmbedLoss', 'gist_embed_loss', options='guide=<model>', check=_F + 'test_embedding_sentence_multi.py', note="pass the guide model's embeddings as guide_anchors / guide_positives / guide_negatives"),
        R('st', 'MarginMSELoss', 'margin_mse_loss', check=_F + 'test_embedding_sentence.py'),
        R('st', 'GlobalOrthogonalRegularizationLoss', 'global_orthogonal_regularization', check=_F + 'test_embedding_sentence.py'),
        R('st', 'cross_encoder.losses.LambdaLoss', 'lambda_loss', check=_F + 'test_ranking_metrics.py'),
        # ---------------------------------------------------------------- open_clip
        R('open_clip', 'SigLipLoss', 'siglip_loss', 'clip', 'logit_scale=10, logit_bias=-10', note="scale is the multiplier exp(t), as open_clip's logit_scale argument"),
        R('open_clip', 'ClipLoss', 'infonce_loss', 'clip', 'logit_scale=1/0.07', {'temperature': 0.07, 'symmetric': True}),
        R('open_clip', 'CoCaLoss', 'coca_loss', check=_F + 'test_self_supervised_dino.py'),
        # ---------------------------------------------------------------- TRL / Liger
        R('trl', 'DPOTrainer', 'dpo_loss', check=_F + 'test_llm_preference.py', note="loss_type= selects TRL's DPO variants"),
        R('trl', 'CPOTrainer', 'cpo_loss', check=_F + 'test_llm_preference.py'),
        R('trl', 'ORPOTrainer', 'orpo_loss', check=_F + 'test_llm_preference.py'),
        R('trl', 'KTOTrainer', 'kto_loss', check=_F + 'test_llm_preference.py'),
        R('trl', 'BCOTrainer', 'bco_loss', check=_F + 'test_llm_preference.py'),
        R('trl', 'GRPOTrainer', 'grpo_loss', check=_F + 'test_llm_policy.py'),
        R('trl', 'PPOTrainer', 'ppo_value_loss', check=_F + 'test_llm_policy.py'),
        R('trl', 'GKDTrainer.generalized_jsd_loss', 'generalized_jsd_loss', check=_F + 'test_llm_distillation.py'),
        R('trl', 'LigerFusedLinearDPOLoss', 'fused_linear_dpo_loss', check=_F + 'test_llm_fused_preference.py'),
        R('trl', 'LigerFusedLinearCPOLoss', 'fused_linear_cpo_loss', check=_F + 'test_llm_fused_preference.py'),
        R('trl', 'LigerFusedLinearORPOLoss', 'fused_linear_orpo_loss', check=_F + 'test_llm_fused_preference.py'),
        R('trl', 'LigerFusedLinearSimPOLoss', 'fused_linear_simpo_loss', check=_F + 'test_llm_fused_preference.py'),
        R('trl', 'LigerFusedLinearKTOLoss', 'fused_linear_kto_loss', check=_F + 'test_llm_fused_more.py'),
        R('trl', 'LigerFusedLinearGRPOLoss', 'fused_linear_grpo_loss', check=_F + 'test_llm_fused_more.py'),
        R('trl', 'LigerFusedLinearJSDLoss', 'fused_linear_distillation_loss', check=_F + 'test_llm_fused_more.py', note="divergence='jsd' (the default); LigerFusedLinearCosineSimilarityLoss is divergence='cosine'"),
        R('trl', 'LigerFusedLinearCrossEntropyLoss', 'fused_linear_cross_entropy', check=_F + 'test_llm_fused_cross_entropy.py'),
        R('trl', 'LigerTVDLoss', 'tvd_loss', check=_F + 'test_llm_distillation.py'),
        R('trl', 'LigerJSDLoss', 'generalized_jsd_loss', check="none: Liger's JSD is a Triton kernel that runs only on a GPU; TRL's generalized_jsd_loss (the same formula) is checked instead"),
    ]
    # fmt: on
    return tuple(rows)


ROWS: tuple[AnchorRow, ...] = _rows()


def _index() -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """(qualified name -> loss, bare name -> {anchor: loss}) over the rows (first row of a name wins).

    Rows whose ``loss`` is a utility (not a registered loss) are left out.
    """
    qualified: dict[str, str] = {}
    bare: dict[str, dict[str, str]] = {}
    for row in ROWS:
        if row.utility:  # not a registered loss: get() does not return it
            continue
        for name in (row.name, *row.aliases):
            bare.setdefault(name, {}).setdefault(row.anchor, row.loss)
            for prefix in ANCHORS[row.anchor]["prefixes"]:
                qualified.setdefault(prefix + name, row.loss)
    return qualified, bare


_QUALIFIED, _BARE = _index()


class AmbiguousName(ValueError):
    """A bare anchor name that two anchors use for different losses."""


def names() -> list[str]:
    """Every name :func:`resolve` accepts (for "did you mean" hints and the docs)."""
    return sorted({*_QUALIFIED, *_BARE})


def resolve(name: str) -> str | None:
    """The jaxloss function name an anchor's ``name`` maps to, or ``None`` when unknown.

    Raises:
      AmbiguousName: ``name`` is a bare name that two anchors map to different losses.
    """
    if name in _QUALIFIED:
        return _QUALIFIED[name]
    targets = _BARE.get(name)
    if not targets:
        return None
    losses = set(targets.values())
    if len(losses) == 1:
        return losses.pop()
    spelled = [
        f"{ANCHORS[a]['prefixes'][0]}{name!s} -> {loss}" for a, loss in sorted(targets.items())
    ]
    raise AmbiguousName(
        f"jaxloss.get: {name!r} names different losses in different libraries; "
        f"use the prefixed name: {'; '.join(spelled)}"
    )
