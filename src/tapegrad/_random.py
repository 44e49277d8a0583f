"""PyTorch's CPU random numbers, bit for bit, shared by both engines.

torch's CPU generator is a 32-bit Mersenne Twister (``at::mt19937``) seeded the
classic way (``init_genrand`` on the seed's low 32 bits); numpy's
``np.random.MT19937`` is the same twister, so we set its key ourselves and use
its raw 32-bit stream. Every transform below follows torch 2.13's CPU kernels
(aten/src/ATen/core/DistributionsHelper.h, core/TransformationHelper.h,
native/cpu/DistributionTemplates.h, native/TensorFactories.cpp,
native/Distributions.cpp): the same draws in the same order, the same
floating-point operations, so ``manual_seed(s)`` followed by the same calls
gives torch's numbers. Each function returns a numpy array; the engines wrap
it (``_random_api``). Where torch calls libm (log, sin, cos, log1p) we call it
too, through Python's ``math`` (numpy's own SIMD log differs in the last bit).
"""

from __future__ import annotations

import math
import os
from typing import Any, Optional, Sequence, Tuple

import numpy as np

_C: Any
try:    # the compiled loops (csrc/tg_random.c); the numpy forms below are the same numbers
    from . import _crandom as _C
except ImportError:     # not built (TAPEGRAD_PURE_PYTHON without the extension)
    _C = None

_N = 624                                # mt19937's state words
STATE_BYTES = 5056                      # sizeof(at::detail::CPUGeneratorImplState)
DEFAULT_SEED = 67280421310721           # c10::default_rng_seed_val: torch.Generator()'s
_RANDPERM_SMALL = 0xFFFFFFFF // 20      # randperm: below this n, the 32-bit swap loop
_WIDE_RANGE = 1 << 28                   # randint: 64-bit draws from this range up
_F32_TIE_BITS = np.uint64((1 << 29) - 1)


def _seeded_key(seed: int) -> np.ndarray:
    """mt19937's init_genrand, as at::mt19937(seed): the key from the low 32 bits."""
    key = [seed & 0xFFFFFFFF]
    for j in range(1, _N):
        x = key[-1]
        key.append((1812433253 * (x ^ (x >> 30)) + j) & 0xFFFFFFFF)
    return np.array(key, dtype=np.uint32)


def _nondeterministic_seed() -> int:
    """c10::detail::getNonDeterministicRandom for the CPU: 53 random bits."""
    return int.from_bytes(os.urandom(8), "little") & 0x1FFFFFFFFFFFFF


def _as_seed(seed: Any, strict: bool = True) -> int:
    """A seed as torch takes it: an int in [-2**63, 2**64), negatives wrapping; a float is
    truncated by torch.manual_seed (strict=False) and refused by Generator.manual_seed."""
    if strict and not isinstance(seed, (int, np.integer)):
        raise RuntimeError(f"manual_seed expected a long, but got {type(seed).__name__}")
    seed = int(seed)
    if not -0x8000_0000_0000_0000 <= seed <= 0xFFFF_FFFF_FFFF_FFFF:
        raise ValueError("Overflow when unpacking long long")
    return seed & 0xFFFF_FFFF_FFFF_FFFF


class Generator:
    """A CPU random generator with torch.Generator's stream and methods."""

    def __init__(self, device: Any = "cpu") -> None:
        _check_cpu(device, "Generator")
        self._bits = np.random.MT19937(0)
        self._reseed(DEFAULT_SEED)

    # -- torch.Generator's API ----------------------------------------------------

    @property
    def device(self) -> Any:
        from . import _backend
        make = getattr(_backend.default_engine(), "device", None)
        return make("cpu") if make is not None else "cpu"

    def manual_seed(self, seed: Any) -> "Generator":
        self._reseed(_as_seed(seed))
        return self

    def seed(self) -> int:
        seed = _nondeterministic_seed()
        self._reseed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self) -> Any:
        from . import _backend
        return state_tensor(_backend.default_engine(), self._state_bytes())

    def set_state(self, new_state: Any) -> "Generator":
        self._load_state_bytes(_state_array(new_state))
        return self

    def __repr__(self) -> str:
        return f"<tapegrad._C.Generator object at {id(self):#x}>"

    # -- the stream -----------------------------------------------------------------

    def _reseed(self, seed: int) -> None:
        self._seed = seed
        self._pos = _N                   # numpy's position: the next draw twists
        self._fresh = True               # torch's next_ is 0 until the first draw
        self._double_normal: Optional[float] = None
        self._float_normal: Optional[float] = None
        self._bits.state = {"bit_generator": "MT19937",
                            "state": {"key": _seeded_key(seed), "pos": _N}}

    def random32(self, n: int) -> np.ndarray:
        """n draws of CPUGeneratorImpl::random() (uint32, as uint64)."""
        if n <= 0:
            return np.zeros(0, dtype=np.uint64)
        self._pos = (self._pos - 1 + n) % _N + 1
        self._fresh = False
        return self._bits.random_raw(n)

    def random64(self, n: int) -> np.ndarray:
        """n draws of CPUGeneratorImpl::random64(): two 32-bit draws, the first high."""
        r = self.random32(2 * n)
        return (r[0::2] << np.uint64(32)) | r[1::2]

    def uniform24(self, n: int) -> np.ndarray:
        """uniform_real_distribution<float>(0, 1): 24 bits of random() (float32)."""
        if _C is not None:
            out = np.empty(max(n, 0), dtype=np.float32)
            _C.uniform24(self.random32(n), out)
            return out
        return (self.random32(n) & np.uint64(0xFFFFFF)).astype(np.float32) * np.float32(2 ** -24)

    def uniform53(self, n: int) -> np.ndarray:
        """uniform_real_distribution<double>(0, 1): 53 bits of random64()."""
        if _C is not None:
            out = np.empty(max(n, 0), dtype=np.float64)
            _C.uniform53(self.random32(2 * n), out)
            return out
        return (self.random64(n) & np.uint64((1 << 53) - 1)).astype(np.float64) * 2.0 ** -53

    # -- the state tensor (torch's CPUGeneratorImplState, byte for byte) ------------

    def _state_bytes(self) -> np.ndarray:
        buf = np.zeros(STATE_BYTES, dtype=np.uint8)
        left, nxt = (1, 0) if self._fresh else (_N + 1 - self._pos, self._pos)
        buf[0:8] = np.frombuffer(np.uint64(self._seed).tobytes(), np.uint8)
        buf[8:16] = np.frombuffer(np.array([left, 1], "<i4").tobytes(), np.uint8)
        buf[16:24] = np.frombuffer(np.uint64(nxt).tobytes(), np.uint8)
        key = self._bits.state["state"]["key"].astype("<u8")
        buf[24:24 + 8 * _N] = np.frombuffer(key.tobytes(), np.uint8)
        if self._double_normal is not None:          # legacy_pod.normal_y, normal_is_valid
            buf[5024:5032] = np.frombuffer(np.float64(self._double_normal).tobytes(), np.uint8)
            buf[5040] = 1
        if self._float_normal is not None:
            buf[5048:5052] = np.frombuffer(np.float32(self._float_normal).tobytes(), np.uint8)
            buf[5052] = 1
        return buf

    def _load_state_bytes(self, buf: np.ndarray) -> None:
        raw = buf.tobytes()
        seed = int.from_bytes(raw[0:8], "little")
        left, seeded = np.frombuffer(raw[8:16], "<i4")
        nxt = int.from_bytes(raw[16:24], "little") & 0xFFFFFFFF
        fresh = left == 1 and nxt == 0
        if not (seeded and 0 < left <= _N and nxt <= _N) or not (fresh or nxt == _N + 1 - left):
            raise RuntimeError("Invalid mt19937 state")
        key = np.frombuffer(raw[24:24 + 8 * _N], "<u8").astype(np.uint32)
        self._seed, self._fresh = seed, bool(fresh)
        self._pos = _N if fresh else nxt
        self._bits.state = {"bit_generator": "MT19937", "state": {"key": key, "pos": self._pos}}
        self._double_normal = (float(np.frombuffer(raw[5024:5032], "<f8")[0])
                               if raw[5040] else None)
        self._float_normal = (float(np.frombuffer(raw[5048:5052], "<f4")[0])
                              if raw[5052] else None)


def _check_cpu(device: Any, what: str) -> None:
    name = str(getattr(device, "type", device))
    if name.split(":")[0] != "cpu":
        raise RuntimeError(f"{what}: tapegrad runs on the CPU only; device {device!r} is not "
                           "available (use device='cpu')")


def state_tensor(engine: Any, buf: np.ndarray) -> Any:
    """The state bytes as an engine tensor: uint8 as torch's where the engine has it."""
    from . import _dtype
    uint8 = getattr(_dtype, "uint8", None)
    if uint8 is not None:
        return engine.tensor(buf, dtype=uint8)
    return engine.tensor(buf.astype(np.int64))      # until the engines gain uint8


def _state_array(state: Any) -> np.ndarray:
    if not hasattr(state, "detach"):
        raise TypeError(f"expected a torch.ByteTensor, but got {type(state).__name__}")
    arr = np.asarray(state.detach().numpy()).reshape(-1)
    if arr.dtype.kind not in "iu" or (arr.size and (arr.min() < 0 or arr.max() > 255)):
        raise TypeError(f"RNG state must be a torch.ByteTensor, not a tensor of {state.dtype}")
    if arr.size != STATE_BYTES:
        raise RuntimeError(f"Expected a CPUGeneratorImplState of size {STATE_BYTES} but found "
                           f"the input RNG state size to be {arr.size}")
    return arr.astype(np.uint8)


default_generator = Generator()
default_generator.seed()              # like torch: a nondeterministic seed at start-up


def generator(gen: Any) -> Generator:
    """The generator argument of a random function: default_generator when None."""
    if gen is None:
        return default_generator
    if not isinstance(gen, Generator):
        raise TypeError(f"generator must be a tapegrad.Generator, not {type(gen).__name__}")
    return gen


# ----------------------------------------------------------------------------- uniform


def uniform(gen: Generator, n: int, np_dtype: Any, low: float = 0.0,
            high: float = 1.0) -> np.ndarray:
    """uniform_(low, high): x * (to - from) + from in the tensor's type, x from 24 bits
    (float32) or 53 bits (float64)."""
    dt = np.dtype(np_dtype)
    if dt == np.float64:
        x = gen.uniform53(n)
    else:
        x = gen.uniform24(n)
    lo, hi = dt.type(low), dt.type(high)
    if lo == 0 and hi == 1:
        return x.astype(dt, copy=False)
    return _fma(x, hi - lo, lo)


# ------------------------------------------------------------------------------ normal

def _vlog(x: np.ndarray, log1p_neg: bool = False) -> np.ndarray:
    """libm's log(x) (or log1p(-x)) elementwise, in double."""
    x = np.ascontiguousarray(x, dtype=np.float64).ravel()
    if _C is not None:
        out = np.empty_like(x)
        _C.log_f64(x, out, log1p_neg)
        return out
    fn = (lambda v: math.log1p(-v)) if log1p_neg else math.log
    return np.array([fn(v) for v in x.tolist()], dtype=np.float64)


def _normal_scalar(gen: Generator, n: int, mean: float, std: float) -> np.ndarray:
    """normal_distribution<double>: Box-Muller on two 53-bit uniforms, the sine kept in
    the generator for the next draw (also across calls)."""
    out = np.empty(n, dtype=np.float64)
    for i in range(n):
        cached = gen._double_normal
        if cached is not None:
            gen._double_normal = None
            z = cached
        else:
            u1, u2 = gen.uniform53(2).tolist()
            r = math.sqrt(-2.0 * math.log1p(-u2))
            theta = 2.0 * math.pi * u1
            gen._double_normal = r * math.sin(theta)
            z = r * math.cos(theta)
        out[i] = z
    return _fma(out, float(std), float(mean))


def _box_muller_f64(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    """normal_fill_16<double> over blocks of 16: u[:8] radii, u[8:] angles."""
    blocks = u.reshape(-1, 2, 8)
    radius = np.sqrt(-2.0 * _vlog(1.0 - blocks[:, 0].ravel())).reshape(-1, 8)
    theta = 2.0 * math.pi * blocks[:, 1]
    out = np.empty_like(blocks)
    out[:, 0] = _fma64(radius * np.cos(theta), std, mean)
    out[:, 1] = _fma64(radius * np.sin(theta), std, mean)
    return out.ravel()


def _two_sum(a: Any, b: Any) -> Tuple[Any, Any]:
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def _split(a: Any) -> Tuple[Any, Any]:
    t = 134217729.0 * a                                            # Veltkamp: 2**27 + 1
    hi = t - (t - a)
    return hi, a - hi


def _fma(x: np.ndarray, b: Any, c: Any) -> np.ndarray:
    """x * b + c with one rounding, x an array of x's type and b, c scalars."""
    if _C is not None:
        x = np.ascontiguousarray(x).ravel()
        out = np.empty_like(x)
        (_C.fma_f64 if x.dtype == np.float64 else _C.fma_f32)(x, b, c, out)
        return out
    return (_fma64 if x.dtype == np.float64 else _fma32)(x, b, c)


def _fma64(a: Any, b: Any, c: Any) -> np.ndarray:
    """Single-rounded a * b + c in float64, as torch's fused kernels compute it:
    the exact product (Dekker), an exact sum, and round-to-odd before the last rounding
    (Boldo & Melquiond's emulation, exact barring overflow)."""
    a, b, c = (np.asarray(v, np.float64) for v in (a, b, c))
    prod = a * b
    (ah, al), (bh, bl) = _split(a), _split(b)
    prod_err = ((ah * bh - prod) + ah * bl + al * bh) + al * bl
    high, low = _two_sum(c, prod)
    v, err = _two_sum(prod_err, low)
    inexact_even = (err != 0) & ((v.view(np.uint64) & np.uint64(1)) == 0)
    if inexact_even.any():
        v = np.where(inexact_even, np.nextafter(v, np.where(err > 0, np.inf, -np.inf)), v)
    return high + v


def _fma32(a: Any, b: Any, c: Any) -> np.ndarray:
    """Single-rounded a * b + c in float32 (torch's compiled kernel fuses these)."""
    p = np.asarray(a, np.float64) * np.asarray(b, np.float64)     # exact: 24 + 24 bits
    c64 = np.asarray(c, np.float64)
    s = p + c64
    bb = s - p
    err = (p - (s - bb)) + (c64 - bb)                              # s + err == p + c exactly
    tie = ((s.view(np.uint64) & _F32_TIE_BITS) == np.uint64(1 << 28)) & (err != 0)
    if tie.any():                                 # s is a float32 midpoint: round as exact
        s = np.where(tie, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    return s.astype(np.float32)


_F = np.float32
_LOG_P = [_F(v) for v in (7.0376836292E-2, -1.1514610310E-1, 1.1676998740E-1,
                          -1.2420140846E-1, 1.4249322787E-1, -1.6668057665E-1,
                          2.0000714765E-1, -2.4999993993E-1, 3.3333331174E-1)]


def _log_ps(x: np.ndarray) -> np.ndarray:
    """avx_mathfun's log256_ps (cephes logf), with the fused multiply-adds that torch's
    AVX2 build has (found by comparison with torch: every polynomial step fused)."""
    bits = np.maximum(x, _F(1.17549435e-38)).view(np.int32)
    e = ((bits >> 23) - 0x7F).astype(np.float32) + _F(1)
    m = ((bits & ~0x7F800000) | 0x3F000000).view(np.float32)
    small = m < _F(0.707106781186547524)
    e = e - small.astype(np.float32)
    m = (m - _F(1)) + np.where(small, m, _F(0))
    z = m * m
    y = np.full_like(m, _LOG_P[0])
    for c in _LOG_P[1:]:
        y = _fma32(y, m, c)
    y = _fma32(y * m, z, e * _F(-2.12194440e-4))
    y = _fma32(-z, _F(0.5), y)
    return _fma32(e, _F(0.693359375), m + y)


def _sincos_ps(x: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """avx_mathfun's sincos256_ps (cephes sinf/cosf), fused as torch's AVX2 build."""
    negative = np.signbit(x)
    x = np.abs(x)
    j = (x * _F(1.27323954473516)).astype(np.int32)
    j = (j + 1) & ~1
    y = j.astype(np.float32)
    for dp in (-0.78515625, -2.4187564849853515625e-4, -3.77489497744594108e-8):
        x = _fma32(y, _F(dp), x)
    sin_negative = negative ^ ((j & 4) != 0)
    cos_negative = (~(j - 2) & 4) != 0
    sine_poly = (j & 2) == 0              # 0 <= x <= pi/4: sine from the sine polynomial
    z = x * x
    yc = _fma32(_fma32(_F(2.443315711809948E-005), z, _F(-1.388731625493765E-003)),
                z, _F(4.166664568298827E-002))
    yc = _fma32(yc * z, z, -(z * _F(0.5))) + _F(1)
    ys = _fma32(_fma32(_F(-1.9515295891E-4), z, _F(8.3321608736E-3)), z,
                _F(-1.6666654611E-1))
    ys = _fma32(ys * z, x, x)
    s = np.where(sine_poly, ys, yc)
    c = np.where(sine_poly, yc, ys)
    return np.where(sin_negative, -s, s), np.where(cos_negative, -c, c)


def _box_muller_avx2(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    """normal_fill_16_AVX2 over blocks of 16 float32 uniforms."""
    blocks = u.reshape(-1, 2, 8)
    radius = np.sqrt(_F(-2) * _log_ps(_F(1) - blocks[:, 0]))
    s, c = _sincos_ps(_F(2 * math.pi) * blocks[:, 1])
    out = np.empty_like(blocks)
    mean32, std32 = _F(mean), _F(std)
    out[:, 0] = _fma32(radius * c, std32, mean32)
    out[:, 1] = _fma32(radius * s, std32, mean32)
    return out.ravel()


def _box_muller_f32(u: np.ndarray, mean: float, std: float) -> np.ndarray:
    """normal_fill_16<float> (torch without AVX2): libm in float, then * std + mean."""
    blocks = u.reshape(-1, 2, 8).astype(np.float64)
    radius = np.sqrt(_F(-2) * _vlogf(_F(1) - blocks[:, 0].astype(np.float32)))
    theta = (2.0 * math.pi * blocks[:, 1]).astype(np.float32)
    cos_t, sin_t = _vcosf(theta), _vsinf(theta)
    out = np.empty(blocks.shape, dtype=np.float32)
    out[:, 0] = radius * cos_t * _F(std) + _F(mean)
    out[:, 1] = radius * sin_t * _F(std) + _F(mean)
    return out.ravel()


def _libm_f32(name: str) -> Any:
    import ctypes
    import ctypes.util
    fn = getattr(ctypes.CDLL(ctypes.util.find_library("m")), name)
    fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]

    def apply(x: np.ndarray) -> np.ndarray:
        return np.array([fn(v) for v in x.ravel().tolist()], np.float32).reshape(x.shape)
    return apply


def _vlogf(x: np.ndarray) -> np.ndarray:
    return _libm_f32("logf")(x)


def _vcosf(x: np.ndarray) -> np.ndarray:
    return _libm_f32("cosf")(x)


def _vsinf(x: np.ndarray) -> np.ndarray:
    return _libm_f32("sinf")(x)


def _cpu_has_avx2() -> bool:
    """Whether torch's CPU dispatch takes its AVX2 kernels here (ATEN_CPU_CAPABILITY
    overrides, as in torch)."""
    forced = os.environ.get("ATEN_CPU_CAPABILITY", "").lower()
    if forced:
        return forced in ("avx2", "avx512")
    try:
        with open("/proc/cpuinfo") as f:
            flags = next((line for line in f if line.startswith("flags")), "").split()
    except OSError:
        return False
    return "avx2" in flags and "fma" in flags


_AVX2 = _cpu_has_avx2()


def normal(gen: Generator, n: int, np_dtype: Any, mean: float = 0.0, std: float = 1.0,
           contiguous: bool = True) -> np.ndarray:
    """normal_(mean, std) as torch's CPU normal_kernel: 16 or more contiguous values take
    the vectorised Box-Muller fill (the last partial block redrawn), fewer the scalar
    Box-Muller in double."""
    dt = np.dtype(np_dtype)
    if n < 16 or not contiguous:
        return _normal_scalar(gen, n, mean, std).astype(dt)
    if dt == np.float64:
        u, fill = gen.uniform53(n), _box_muller_f64
    else:
        u, fill = gen.uniform24(n), (_box_muller_avx2 if _AVX2 else _box_muller_f32)
    full = n - n % 16
    out = u.astype(dt, copy=False)
    out[:full] = _fill_blocks(fill, out[:full], mean, std)
    if n % 16:
        tail = gen.uniform53(16) if dt == np.float64 else gen.uniform24(16)
        out[n - 16:] = _fill_blocks(fill, tail, mean, std)
    return out


def _fill_blocks(fill: Any, u: np.ndarray, mean: float, std: float) -> np.ndarray:
    """The Box-Muller blocks of u (the C loop in place when built, else numpy)."""
    if _C is None:
        return fill(u, mean, std)
    u = np.ascontiguousarray(u)
    if u.dtype == np.float64:
        _C.box_muller_f64(u, mean, std)
    else:
        _C.box_muller_f32(u, mean, std, fill is _box_muller_avx2)
    return u


# ----------------------------------------------------------------------------- integers

def random_from_to(gen: Generator, n: int, low: int, high: int, np_dtype: Any) -> np.ndarray:
    """random_(low, high) / randint: (draw % range) + low, the draw 64-bit from a range of
    2**28 up (torch 2.13's threshold, measured: the sources we read said 2**32), else
    32-bit."""
    span = high - low
    r = gen.random64(n) if span >= _WIDE_RANGE else gen.random32(n)
    vals = (r % np.uint64(span) + np.uint64(low & 0xFFFFFFFFFFFFFFFF)).view(np.int64)
    return vals.astype(np_dtype)


def random_full(gen: Generator, n: int, np_dtype: Any) -> np.ndarray:
    """random_() without bounds: [0, 2**mantissa] for floats, [0, max] for integers."""
    dt = np.dtype(np_dtype)
    if dt == np.float32:
        return (gen.random32(n) % np.uint64((1 << 24) + 1)).astype(dt)
    if dt == np.float64:
        return (gen.random64(n) % np.uint64((1 << 53) + 1)).astype(dt)
    if dt == np.int64:
        return (gen.random64(n) % np.uint64(1 << 63)).astype(dt)
    if dt == np.bool_:
        return (gen.random32(n) & np.uint64(1)).astype(dt)
    return (gen.random32(n) % np.uint64(int(np.iinfo(dt).max) + 1)).astype(dt)


def randperm(gen: Generator, n: int) -> np.ndarray:
    """randperm_cpu: small n swaps r[i] with r[i + random() % (n - i)]; large n is the
    inside-out Fisher-Yates on random64()."""
    small = n < _RANDPERM_SMALL
    if _C is not None:
        perm_out = np.empty(n, dtype=np.int64)
        draws = gen.random32(n - 1) if small else gen.random64(n)
        _C.randperm(np.ascontiguousarray(draws), perm_out, not small)
        return perm_out
    if small:
        perm = list(range(n))
        offsets = (gen.random32(n - 1) % np.arange(n, 1, -1, dtype=np.uint64)).tolist()
        for i, z in enumerate(offsets):
            j = i + z
            perm[i], perm[j] = perm[j], perm[i]
        return np.array(perm, dtype=np.int64)
    perm_arr = np.empty(n, dtype=np.int64)
    picks = (gen.random64(n) % np.arange(1, n + 1, dtype=np.uint64)).tolist()
    for i, z in enumerate(picks):
        perm_arr[i] = perm_arr[z]
        perm_arr[z] = i
    return perm_arr


# ---------------------------------------------------------------------- bernoulli etc.

def bernoulli_scalar(gen: Generator, n: int, p: float, np_dtype: Any) -> np.ndarray:
    """bernoulli_(p): a 53-bit uniform below p."""
    return (gen.uniform53(n) < p).astype(np_dtype)


def bernoulli_tensor(gen: Generator, probs: np.ndarray, np_dtype: Any) -> np.ndarray:
    """bernoulli(probs): one uniform per element, 53-bit for float64 probabilities and
    24-bit (compared in float) otherwise."""
    flat = probs.ravel()
    if probs.dtype == np.float64:
        u = gen.uniform53(flat.size)
    else:
        u = gen.uniform24(flat.size)
        flat = flat.astype(np.float32)
    return (u < flat).astype(np_dtype).reshape(probs.shape)


def exponential(gen: Generator, n: int, np_dtype: Any, lambd: float = 1.0) -> np.ndarray:
    """exponential_(lambd): -1/lambd * log1p(-u) in double, u 53-bit."""
    return (-1.0 / lambd * _vlog(gen.uniform53(n), log1p_neg=True)).astype(np_dtype)


def multinomial(gen: Generator, probs: np.ndarray, num_samples: int,
                replacement: bool) -> np.ndarray:
    """torch.multinomial on the CPU: without replacement (or one sample) argmax/top-k of
    p / Exp(1); with replacement a binary search of each 53-bit uniform in the row's
    normalised cumulative sums (accumulated in the input's type)."""
    rows = probs.reshape(-1, probs.shape[-1])
    if not replacement or num_samples == 1:
        q = exponential(gen, rows.size, rows.dtype).reshape(rows.shape)
        keys = rows / q
        # top-k, largest first; ties keep the lower index, as a stable sort
        order = np.argsort(-keys, axis=-1, kind="stable")[:, :num_samples]
        out = order
    else:
        out = np.empty((rows.shape[0], num_samples), dtype=np.int64)
        for i, row in enumerate(rows):
            cum = np.cumsum(row, dtype=row.dtype)
            total = cum[-1]
            cum = cum / total
            cum[-1] = 1
            u = gen.uniform53(num_samples)
            out[i] = np.searchsorted(cum.astype(np.float64), u, side="left")
    return out.astype(np.int64).reshape(probs.shape[:-1] + (num_samples,))


def sizes(size: Sequence[Any]) -> Tuple[int, ...]:
    """A size given as ints or one tuple/list/Size."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)):
        size = tuple(size[0])
    return tuple(int(s) for s in size)
