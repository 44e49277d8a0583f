"""THE list of tapegrad's public names.

``tapegrad/__init__.py`` re-exports ``ENGINE_NAMES`` from the active engine and
takes the other groups from the shared layers; ``tapegrad.reference`` exports
the same; ``__all__`` of both is built from here; ``_contract.Engine`` and the
conformance test (``tests/conformance``) check every name on both engines.
"""

# What each engine module provides itself; ``tapegrad`` re-exports the active one's.
ENGINE_NAMES = (
    # scalars, micrograd style
    "ENGINE", "Value", "clear_tape", "dot", "sum", "tape_stats",
    # tensors, PyTorch style
    "Tensor", "tensor", "zeros", "ones", "full", "empty", "randn", "rand", "arange",
    "from_numpy", "zeros_like", "ones_like", "manual_seed", "is_tensor", "get_default_dtype",
    "as_tensor", "empty_like", "full_like", "rand_like", "randn_like",
    "exp", "log", "tanh", "relu", "sigmoid", "abs", "sqrt", "neg", "reciprocal", "clamp",
    "clamp_min", "softmax", "log_softmax", "matmul", "mm", "mv", "bmm", "mean", "max", "min",
    "argmax", "argmin", "reshape", "flatten", "transpose", "t", "permute", "unsqueeze",
    "squeeze", "pow", "add", "sub", "mul", "div", "clone", "numel", "is_floating_point",
    "set_printoptions", "get_printoptions", "set_flush_denormal",
    # indexing functions (issue 11)
    "index_select", "gather", "take_along_dim", "masked_select", "masked_fill", "where",
    "nonzero",
    # issue 11 item 5 / issue 16 item 3 (tapegrad._functions_more, bound to each engine)
    "sin", "cos", "tan", "log10", "log2", "log1p", "expm1", "rsqrt", "sign", "floor", "ceil",
    "square", "round", "maximum", "minimum", "var", "std", "norm", "logsumexp", "prod",
    "cumsum", "all", "any", "isclose", "allclose", "sort", "argsort", "topk", "split", "chunk",
    "unbind", "flip", "roll", "cat", "concat", "concatenate", "stack", "einsum", "linspace",
    "logspace", "eye", "device", "cuda", "set_default_device", "set_default_dtype",
    "FloatTensor", "DoubleTensor", "LongTensor", "BoolTensor", "IntTensor", "ByteTensor",
    # random numbers, torch's CPU streams (tapegrad._random)
    "Generator", "default_generator", "seed", "initial_seed", "get_rng_state",
    "set_rng_state", "randint", "randperm", "multinomial", "normal", "bernoulli",
    "randint_like",
    # issue 12 (activation kernels: _tensor_act.pxi / reference/_tensor_act.py)
    "erf",
)

# Grad mode, written once (tapegrad.autograd.grad_mode); engines expose the same objects.
GRAD_MODE = ("no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "inference_mode",
             "is_inference_mode_enabled")

# dtypes and Size (tapegrad._dtype), shared by the engines.
DTYPES = ("Size", "dtype", "float32", "float64", "int64", "bool", "float", "double", "long",
          "int8", "int16", "int32", "uint8", "int", "short")

# Replay (tapegrad._replay), written once.
REPLAY = ("compile", "record", "Tape", "GuardFailure")

# tapegrad.save / tapegrad.load (tapegrad.serialization).
SERIALIZATION = ("save", "load")

# Pictures of a graph (tapegrad._draw, tapegrad._explain), written once for both engines.
PICTURES = ("draw", "explain")

SUBMODULES = ("nn", "optim", "autograd", "utils")

# tapegrad.__all__
PUBLIC = (ENGINE_NAMES + GRAD_MODE + DTYPES + REPLAY + SERIALIZATION + PICTURES + SUBMODULES
          + ("reference", "__version__"))

# The layers: tapegrad.nn, tapegrad.nn.functional, tapegrad.optim, tapegrad.autograd.
NN = ("Parameter", "Module", "Linear", "ReLU", "Tanh", "Sigmoid", "Softmax", "LogSoftmax",
      "Identity", "Flatten", "Sequential", "ModuleList", "MSELoss", "CrossEntropyLoss",
      "NLLLoss", "BCELoss", "Embedding", "Dropout",
      "RNNBase", "RNN", "LSTM", "GRU", "RNNCellBase", "RNNCell", "LSTMCell", "GRUCell",
      # issue 12: nn/activation.py, nn/loss.py
      "GELU", "SiLU", "LeakyReLU", "ELU", "Softplus", "L1Loss", "SmoothL1Loss", "HuberLoss",
      "BCEWithLogitsLoss",
      # issue 12 item 3: containers and normalisation (nn/container.py, nn/normalization.py)
      "Unflatten", "ModuleDict", "ParameterList", "ParameterDict", "BatchNorm1d", "LayerNorm")
NN_FUNCTIONAL = ("relu", "tanh", "sigmoid", "softmax", "log_softmax", "linear", "mse_loss",
                 "nll_loss", "cross_entropy", "binary_cross_entropy", "embedding", "one_hot",
                 "dropout",
                 # issue 12
                 "gelu", "silu", "leaky_relu", "elu", "softplus", "l1_loss", "smooth_l1_loss",
                 "huber_loss", "binary_cross_entropy_with_logits", "pad", "normalize",
                 "cosine_similarity", "batch_norm", "layer_norm")
OPTIM = ("Optimizer", "SGD", "Adam", "AdamW", "RMSprop", "Adagrad", "lr_scheduler")
AUTOGRAD = ("Variable", "grad", "backward", "gradcheck", "gradgradcheck", "functional",
            "Function", "function", "once_differentiable") + GRAD_MODE

# The engines' private hooks the layers call (see _contract.Engine).
HOOKS = ("_addmm", "_mse_loss", "_nll_loss", "_binary_cross_entropy", "_grad",
         "_run_backward", "_sgd_update", "_adam_update", "_rmsprop_update",
         "_adagrad_update", "_set_grad_off", "_grad_off",
         "_trace", "_flatten_args", "_rebuild", "_GuardFailed",
         "_graph_handle", "_graph_nodes", "_set_graph_grad", "_embedding", "_one_hot",
         "_activation", "_pointwise_loss", "_bce_with_logits", "_constant_pad",
         "_function_record", "_function_refuse_replay", "_tensor_version")
