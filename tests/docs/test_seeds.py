"""Every code cell of the five seed notebooks (../shared/seeds/*.txt, the PyTorch
notebooks users study), with tapegrad in place of torch, printing what the seed prints.

Each cell is one test. A cell runs in its notebook's namespace after the cells before it
(whose output is not checked there: each has its own test), like a notebook run from the
top; a cell whose last statement is an expression displays its repr, like Jupyter. The
cells import ``tapegrad``, ``tapegrad.nn`` and ``tapegrad.autograd`` exactly as a user
would; an import hook maps those names to the engine under test, so the ``[c]`` variant
runs the seed code on the compiled engine's names and the ``[python]`` variant on the
reference's (``tapegrad.reference`` and ``tapegrad.reference.nn`` etc.).

Two seeds (000, 004) were run on an old PyTorch (0.3/0.4), which printed tensors as
``tensor([ 1.0200])`` (a sign column even for non-negative values) and without
``grad_fn=``; modern PyTorch prints ``tensor([1.0200])`` and
``tensor([2.0400], grad_fn=<MulBackward0>)``. For those lines the numbers are compared
at the printed precision and the exact text is compared with what torch 2.13 prints for
the same code (recorded below, ``MODERN``). Both seeds' outputs are cut off mid-line in
the notebook dumps; the text up to the cut is compared, and the rest against torch 2.13.
"""

import ast
import builtins
import contextlib
import io
import re
import types

import numpy as np
import pytest

from _tensors import libs_for

# ---------------------------------------------------------------------------- the cells


class Cell:
    def __init__(self, seed, label, source, expected, modern=None, truncated=False,
                 old_format=False, numpy_rounding=False):
        self.seed = seed
        self.label = label
        self.source = source
        self.expected = expected          # the seed's printed output, verbatim
        self.modern = modern              # torch 2.13's full output where it differs
        self.truncated = truncated        # the seed dump stops mid-output
        self.old_format = old_format      # tensors printed by an old PyTorch
        self.numpy_rounding = numpy_rounding  # numpy-only cell, see In22 of seed 002

    @property
    def id(self):
        return f"{self.seed}-{self.label}"


CELLS = []


def cell(*args, **kwargs):
    CELLS.append(Cell(*args, **kwargs))


# ---- seed 000: backprop, compute graph, autograd (old PyTorch)

cell("000", "In21", '''
def forward(x, w, y):
    y_pred = x * w 
    print("y_pred=", y_pred)
    s =  y_pred - y 
    print("s = ", s)
    loss = (s) ** 2
    print("loss = ", loss)
    return y_pred, s, loss 
x = 1; w = 1; y = 2
y_pred, s, loss = forward(x, w, y)
''', """\
y_pred= 1
s =  -1
loss =  1
""")

cell("000", "In22", '''

def backprop(loss):

    # step 1
    dloss_ds = 2 * s 
    ds_dy_pred = 1 

    # step 2
    dloss_dy_pred = dloss_ds * ds_dy_pred 

    # step 3
    dy_pred_dw = x 
    dloss_dw = dloss_dy_pred * dy_pred_dw  

    return dloss_dw

dloss_dw = backprop(loss)
print(f"dloss_dw = {dloss_dw}")
''', """\
dloss_dw = -2
""")

# The seed's output stops at "epoch=6, lo"; the grads print a 0-d tensor through an
# f-string (old PyTorch: a Python float from w.grad.data[0]; modern: Tensor.__format__
# on a 0-d tensor formats .item()), so the text is identical, float32 digits included.
cell("000", "In18", '''
import tapegrad 
from tapegrad.autograd import Variable

x_data = [1.0, 2.0, 3.0]
y_data = [2.0, 4.0, 6.0]
w = Variable(tapegrad.Tensor([1.0]), requires_grad=True)


def forward(x):
    return x * w 

def loss(x,y):
    y_pred = forward(x)
    return (y_pred - y) * (y_pred - y)

for epoch in range(10):
    for x_val, y_val in zip(x_data, y_data):
        l = loss(x_val, y_val)
        l.backward()
        print(f"x={x_val}, y={y_val}, grad={w.grad.data[0]}")
        w.data = w.data - 0.01 * w.grad.data 

        # manually zero gradient after updating weights
        w.grad.data.zero_()
    print(f"epoch={epoch}, loss={l.data[0]}")
''', """\
x=1.0, y=2.0, grad=-2.0
x=2.0, y=4.0, grad=-7.840000152587891
x=3.0, y=6.0, grad=-16.228801727294922
epoch=0, loss=7.315943717956543
x=1.0, y=2.0, grad=-1.478623867034912
x=2.0, y=4.0, grad=-5.796205520629883
x=3.0, y=6.0, grad=-11.998146057128906
epoch=1, loss=3.9987640380859375
x=1.0, y=2.0, grad=-1.0931644439697266
x=2.0, y=4.0, grad=-4.285204887390137
x=3.0, y=6.0, grad=-8.870372772216797
epoch=2, loss=2.1856532096862793
x=1.0, y=2.0, grad=-0.8081896305084229
x=2.0, y=4.0, grad=-3.1681032180786133
x=3.0, y=6.0, grad=-6.557973861694336
epoch=3, loss=1.1946394443511963
x=1.0, y=2.0, grad=-0.5975041389465332
x=2.0, y=4.0, grad=-2.3422164916992188
x=3.0, y=6.0, grad=-4.848389625549316
epoch=4, loss=0.6529689431190491
x=1.0, y=2.0, grad=-0.4417421817779541
x=2.0, y=4.0, grad=-1.7316293716430664
x=3.0, y=6.0, grad=-3.58447265625
epoch=5, loss=0.35690122842788696
x=1.0, y=2.0, grad=-0.3265852928161621
x=2.0, y=4.0, grad=-1.2802143096923828
x=3.0, y=6.0, grad=-2.650045394897461
epoch=6, lo""", modern="@MODERN_000_In18", truncated=True)

# A cell from another part of that notebook (an RNN's 20x20 weight W_x, defined in a
# cell the dump does not include): W_x is set up as a 20x20 tensor first. Jupyter shows
# the repr of the last expression; torch shows torch.Size([20, 20]).
cell("000", "In12", '''
W_x.shape
''', """\
tapegrad.Size([20, 20])
""")

# ---- seed 001: backpropagation with tensors (modern PyTorch)

cell("001", "In2", '''
import tapegrad 
''', "")

cell("001", "In5", '''
# input data
x = tapegrad.tensor(1.0)

# target
y = tapegrad.tensor(2.0)

# weights
w = tapegrad.tensor(1.0, requires_grad=True)

# forward pass and compute loss
y_hat = w * x 
loss = (y_hat - y)**2

print(loss)
''', """\
tensor(1., grad_fn=<PowBackward0>)
""")

cell("001", "In6", '''
# backward pass
loss.backward()

# print gradient of loss with respect to w
print(w.grad)
''', """\
tensor(-2.)
""")

cell("001", "In30", '''
x = tapegrad.tensor([2.0,3.0,1.0])

# requires_grad=True usually associated to the 
# parameters that will be learned by the model
w = tapegrad.tensor([1.0,1.0,2.0], requires_grad=True)

y = tapegrad.tensor(3.0)

# forward pass to compute loss
y_hat = w@x

loss = (y_hat - y)**2
''', "")

cell("001", "In31", '''
print(y_hat)

print(loss)
''', """\
tensor(7., grad_fn=<DotBackward0>)
tensor(16., grad_fn=<PowBackward0>)
""")

cell("001", "In32", '''
# backward pass to compute gradients
loss.backward()

# print gradients
print(w.grad)
''', """\
tensor([16., 24.,  8.])
""")

cell("001", "In42", '''
# learning rate
lr = 0.01

# update weights
w.data = w.data - lr * w.grad.data
''', "")

cell("001", "In43", '''
w.data
''', """\
tensor([0.8400, 0.7600, 1.9200])
""")

cell("001", "In44", '''
# next forward pass
y_hat = w@x

loss = (y_hat - y)**2

print(y_hat)

print(loss)
''', """\
tensor(5.8800, grad_fn=<DotBackward0>)
tensor(8.2944, grad_fn=<PowBackward0>)
""")

# w.grad accumulates across the two backward calls (16 + 11.52 = 27.52, ...)
cell("001", "In45", '''
# backward pass to compute gradients
loss.backward()

# print gradients
print(w.grad)
''', """\
tensor([27.5200, 41.2800, 13.7600])
""")

cell("001", "In46", '''
# update weights
w.data = w.data - lr * w.grad.data
w.data
''', """\
tensor([0.5648, 0.3472, 1.7824])
""")

cell("001", "In47", '''
# next forward pass
y_hat = w@x

loss = (y_hat - y)**2

print(y_hat)

print(loss)
''', """\
tensor(3.9536, grad_fn=<DotBackward0>)
tensor(0.9094, grad_fn=<PowBackward0>)
""")

cell("001", "In48", '''
# backward pass to compute gradients
loss.backward()

# print gradients
print(w.grad)
''', """\
tensor([31.3344, 47.0016, 15.6672])
""")

cell("001", "In49", '''
# update weights
w.data = w.data - lr * w.grad.data
w.data
''', """\
tensor([ 0.2515, -0.1228,  1.6257])
""")

cell("001", "In50", '''
# next forward pass
y_hat = w@x

loss = (y_hat - y)**2

print(y_hat)

print(loss)
''', """\
tensor(1.7602, grad_fn=<DotBackward0>)
tensor(1.5371, grad_fn=<PowBackward0>)
""")

# ---- seed 002: backpropagation, gradient descent by hand, with autograd, with nn/optim

cell("002", "In6", '''
# Above using pytorch
import tapegrad
x = tapegrad.tensor(1.0)
y = tapegrad.tensor(2.0)

w = tapegrad.tensor(1.0, requires_grad=True)

# forward pass and computing the loss
y_hat = w*x
loss = (y_hat - y)**2
print(loss)

# backward pass
loss.backward()
print(w.grad)


# update weights
# next forward and backpropogation steps...
''', """\
tensor(1., grad_fn=<PowBackward0>)
tensor(-2.)
""")

# numpy only (no tensors): the seed ran NumPy 1.x, where `w -= learning_rate*dw` (Python
# float times np.float32) promoted w to float64; NumPy 2 (NEP 50) keeps float32, which
# moves a few losses in the 8th decimal (4.79999924 vs 4.80000067). The text is compared
# exactly and the numbers to 1e-6 relative plus two units of the last printed digit.
cell("002", "In22", '''
# GDA from scratch
import numpy as np
# f = w*x
# f = 2*x

X = np.array([1, 2, 3, 4], dtype = np.float32)
Y = np.array([2, 4, 6, 8], dtype = np.float32)
w = 0.0 # initially

# model prediction
def forward(X):
    return w*X

# loss = MSE
def loss(y, y_predicted):
    return ((y_predicted - y)**2).mean()

# gradient
# MSE = 1/N * (w*x - y)**2
# dJ/dw = 1/N * 2x (w*x - y)

def gradient(x, y, y_predicted):
    return np.dot(2*x, y_predicted-y).mean()

print(f'Prediction before training: f(5) = {forward(5):.3f}')

# Training
learning_rate = 0.01
n_iters = 20

for epoch in range(n_iters):
    y_pred = forward(X)
    
    l = loss(Y, y_pred)
    
    dw = gradient(X, Y, y_pred)
    
    w -= learning_rate*dw
    
    if epoch%1 == 0:
        print(f'epoch {epoch+1}: w = {w:.3f}, loss = {l:.8f}')
print(f'Prediction after training: f(5) = {forward(5):.3f}')
''', """\
Prediction before training: f(5) = 0.000
epoch 1: w = 1.200, loss = 30.00000000
epoch 2: w = 1.680, loss = 4.79999924
epoch 3: w = 1.872, loss = 0.76800019
epoch 4: w = 1.949, loss = 0.12288000
epoch 5: w = 1.980, loss = 0.01966083
epoch 6: w = 1.992, loss = 0.00314574
epoch 7: w = 1.997, loss = 0.00050331
epoch 8: w = 1.999, loss = 0.00008053
epoch 9: w = 1.999, loss = 0.00001288
epoch 10: w = 2.000, loss = 0.00000206
epoch 11: w = 2.000, loss = 0.00000033
epoch 12: w = 2.000, loss = 0.00000005
epoch 13: w = 2.000, loss = 0.00000001
epoch 14: w = 2.000, loss = 0.00000000
epoch 15: w = 2.000, loss = 0.00000000
epoch 16: w = 2.000, loss = 0.00000000
epoch 17: w = 2.000, loss = 0.00000000
epoch 18: w = 2.000, loss = 0.00000000
epoch 19: w = 2.000, loss = 0.00000000
epoch 20: w = 2.000, loss = 0.00000000
Prediction after training: f(5) = 10.000
""", numpy_rounding=True)

TRAINING_W_ONLY = """\
Prediction before training: f(5) = 0.000
epoch 1: w = 0.150, loss = 7.50000000
epoch 11: w = 0.833, loss = 0.29069641
epoch 21: w = 0.967, loss = 0.01126722
epoch 31: w = 0.994, loss = 0.00043671
epoch 41: w = 0.999, loss = 0.00001693
epoch 51: w = 1.000, loss = 0.00000066
epoch 61: w = 1.000, loss = 0.00000003
epoch 71: w = 1.000, loss = 0.00000000
epoch 81: w = 1.000, loss = 0.00000000
epoch 91: w = 1.000, loss = 0.00000000
Prediction after training: f(5) = 5.000
"""

cell("002", "In34", '''
# Now lets do gradient step using pytorch

import tapegrad

X = tapegrad.tensor([1, 2, 3, 4], dtype=tapegrad.float32)
Y = tapegrad.tensor([1, 2, 3, 4], dtype=tapegrad.float32)

w = tapegrad.tensor(0.0, dtype=tapegrad.float32, requires_grad=True)

def forward(X):
    return w*X

def loss(y, y_predicted):
    return ((y-y_predicted)**2).mean()    

# def gradient
print(f'Prediction before training: f(5) = {forward(5):.3f}')

learning_rate = 0.01
n_iters = 100

for epoch in range(n_iters):
    y_pred = forward(X)
    
    l = loss(Y, y_pred)
    
    # gradient calculation using backward pass
    l.backward() # calculates dl/dw
    
    # Now we need to make sure we dont track gradient in w updation
    
    with tapegrad.no_grad():
        w -= learning_rate*w.grad
        
    # also after each loop we shld empty the gradient otherwise it accumumlates
    w.grad.zero_()
    
    
    if epoch%10==0:
        print(f'epoch {epoch+1}: w = {w:.3f}, loss = {l:.8f}')
        
print(f'Prediction after training: f(5) = {forward(5):.3f}')
''', TRAINING_W_ONLY)

# The seed's "from .autonotebook import tqdm" line is a warning on stderr from the
# notebook's environment, not output of the cell: it is not part of the expectation.
cell("002", "In38", '''
# Now lets automate losses and weights updation using pytorch loss and optimizer classes, only model is manual
# steps - 
# 1. design model (input, output size, forward pass)
# 2. Construct loss and optimizer
# 3. Training loop - 
#    - forward pass : compute prediction
#    - backward pass : gradients calculation
#    - update weights

import tapegrad
import tapegrad.nn as nn

X = tapegrad.tensor([1, 2, 3, 4], dtype=tapegrad.float32)
Y = tapegrad.tensor([1, 2, 3, 4], dtype=tapegrad.float32)

w = tapegrad.tensor(0.0, dtype=tapegrad.float32, requires_grad=True)

# def gradient
print(f'Prediction before training: f(5) = {forward(5):.3f}')

learning_rate = 0.01
n_iters = 100
loss = nn.MSELoss()
optimizer = tapegrad.optim.SGD([w], lr = learning_rate)


for epoch in range(n_iters):
    # Forward pass
    y_pred = forward(X)
    
    # Loss calculation
    l = loss(Y, y_pred)
    
    # gradient calculation using backward pass
    l.backward() # calculates dl/dw
    
    # update weights
    optimizer.step()

    # also after each loop we shld empty the gradient otherwise it accumumlates
    optimizer.zero_grad()
    
    # Printing data
    if epoch%10==0:
        print(f'epoch {epoch+1}: w = {w:.3f}, loss = {l:.8f}')
        
print(f'Prediction after training: f(5) = {forward(5):.3f}')
''', TRAINING_W_ONLY)

# nn.Linear's initial weights are random (unseeded): see test_seed_002_linear_model.
LINEAR_CELL = '''
# Automating everything (model too)

import tapegrad
import tapegrad.nn as nn

X = tapegrad.tensor([[1], [2], [3], [4]], dtype=tapegrad.float32)
Y = tapegrad.tensor([[2], [4], [6], [8]], dtype=tapegrad.float32)
X_test = tapegrad.tensor([5], dtype=tapegrad.float32)

n_samples, n_features = X.shape
print(n_samples, n_features)

input_size = n_features
output_size = n_features

model = nn.Linear(input_size, output_size)

# def gradient
print(f'Prediction before training: f(5) = {model(X_test).item():.3f}')

learning_rate = 0.01
n_iters = 100
loss = nn.MSELoss()
optimizer = tapegrad.optim.SGD(model.parameters(), lr = learning_rate)


for epoch in range(n_iters):
    # Forward pass
    y_pred = model(X)
    
    # Loss calculation
    l = loss(Y, y_pred)
    
    # gradient calculation using backward pass
    l.backward() # calculates dl/dw
    
    # update weights
    optimizer.step()

    # also after each loop we shld empty the gradient otherwise it accumumlates
    optimizer.zero_grad()
    
    # Printing data
    if epoch%10==0:
        [w, b] = model.parameters()
        print(f'epoch {epoch+1}: w = {w[0][0].item():.3f}, loss = {l:.8f}')
        
print(f'Prediction after training: f(5) = {model(X_test).item():.3f}')
'''

# ---- seed 003: computational graph and autograd

cell("003", "In1", '''
import numpy
import matplotlib
import tapegrad
''', "")

cell("003", "In27", '''
# since we want to calculate the gradien
x= tapegrad.tensor(3., requires_grad=True)
''', "")

cell("003", "In28", '''
y = 3 * x**2 + 4*x + 2
''', "")

cell("003", "In29", '''
print(y)
''', """\
tensor(41., grad_fn=<AddBackward0>)
""")

cell("003", "In30", '''
# now let's calculate the derivative of y wrt x. From picture above, we know the derivative at this point is 22.

# just call the backword() method on the variable y. Since x is defined with requires_grad=True, the derivative
# will be stored in x.grad 

y.backward()
print(x.grad)
''', """\
tensor(22.)
""")

cell("003", "In31", '''
# method 1
x = x.requires_grad_(False)
print(x)

# method 2
x = x.detach()
print(x)
''', """\
tensor(3.)
tensor(3.)
""")

cell("003", "In32", '''
# example with no settign to zero

x = tapegrad.tensor(3., requires_grad = True)

for epoch in range(3):
    y = 3*x**2 + 4*x + 2
    
    y.backward()
    
    print(x.grad)
''', """\
tensor(22.)
tensor(44.)
tensor(66.)
""")

cell("003", "In33", '''
# example with re-settign to zero

x = tapegrad.tensor(3., requires_grad = True)

for epoch in range(3):
    y = 3*x**2 + 4*x + 2
    
    y.backward()
    
    print(x.grad)
    
    x.grad.zero_()
''', """\
tensor(22.)
tensor(22.)
tensor(22.)
""")

cell("003", "In34", '''
x = tapegrad.tensor([1., 2., 3.], requires_grad = True)

y = x * 2 + 3

z = y**2

print(z)
''', """\
tensor([25., 49., 81.], grad_fn=<PowBackward0>)
""")

cell("003", "In35", '''
# To calculate the back-propagate, we need a scalar from the end to  start with
out = z.mean()

out.backward()

print(out) # print mean value

print(x.grad) # print D(out)/D(x) at eah x value
''', """\
tensor(51.6667, grad_fn=<MeanBackward0>)
tensor([ 6.6667,  9.3333, 12.0000])
""")

cell("003", "In36", '''
x = tapegrad.tensor([1., 2., 3.], requires_grad = True)
y = x * 2 + 3
z = y**2

v = tapegrad.tensor([1., 1., 1.])

z.backward(v)

print(x.grad)
print(x.grad / len(x))
''', """\
tensor([20., 28., 36.])
tensor([ 6.6667,  9.3333, 12.0000])
""")

cell("003", "In37", '''
x = tapegrad.tensor([1., 2., 3., 4., 5.])
y = 2 * x
''', "")

cell("003", "In38", '''
w_grad=[]
b_grad=[]
''', "")

cell("003", "In39", '''
# lets focus on only one value of x and y

w_ = tapegrad.tensor(5., requires_grad = True) # initialization of w_, and to be optimized
b_ = tapegrad.tensor(1., requires_grad = True) # initialization of b_, and to be optimized
''', "")

cell("003", "In40", '''
for i_value in range(len(x)):
    w = tapegrad.tensor(5., requires_grad = True) # local w
    b = tapegrad.tensor(1., requires_grad = True) # local b
    
    y_hat = w*x[i_value] + b  # Forward calc
    
    error = y_hat - y[i_value]
    
    loss = error**2
    
    loss.backward()  # here it gives the grad at each point of 5 elements in x list, or y list
    
    learn_rate = 0.01
    
    with tapegrad.no_grad(): # update the parameter w_ and b_
        w_ -= learn_rate * (w.grad / len(x))
        b_ -= learn_rate * (b.grad / len(x))
        
print(w_)
print(b_)
''', """\
tensor(4.2800, requires_grad=True)
tensor(0.8000, requires_grad=True)
""")

# ---- seed 004: chain rule, compute graph (old PyTorch)

cell("004", "In36", '''
import tapegrad
from tapegrad.autograd import Variable

x_data = [1.0, 2.0, 3.0]
y_data = [2.0, 4.0, 6.0]
''', "")

cell("004", "In37", '''
def forward(x):
    return x * w
''', "")

cell("004", "In38", '''
def loss(x, y):
    y_pred = forward(x)
    return (y_pred - y) ** 2
''', "")

# Old PyTorch printed w.data as "tensor([ 1.0200])" and forward(x) without grad_fn;
# those numbers are compared at the printed precision, and the exact text against
# torch 2.13 (MODERN). The seed's output stops at "(er".
cell("004", "In56", '''
w = Variable(tapegrad.Tensor([1.0]), requires_grad=True)
print(f"When x=3, result is {forward(3).data[0]}, should be 6")
for ep in range(10):
    for x, y in zip(x_data, y_data):
        err = loss(x, y)
        err.backward()
        print(f'\\t x = {x}, y = {y}, w=${w.data}, pred=${forward(x)}, grad = {w.grad.data[0]}')
        w.data = w.data - 0.01 * w.grad.data
        w.grad.data.zero_()
    print(f"episode {ep} last loss = {err.data[0]} (error^2)")
print(f"When x=3, result is {forward(3).data[0]}, should be 6")   
''', """\
When x=3, result is 3.0, should be 6
\t x = 1.0, y = 2.0, w=$tensor([ 1.]), pred=$tensor([ 1.]), grad = -2.0
\t x = 2.0, y = 4.0, w=$tensor([ 1.0200]), pred=$tensor([ 2.0400]), grad = -7.840000152587891
\t x = 3.0, y = 6.0, w=$tensor([ 1.0984]), pred=$tensor([ 3.2952]), grad = -16.228801727294922
episode 0 last loss = 7.315943717956543 (error^2)
\t x = 1.0, y = 2.0, w=$tensor([ 1.2607]), pred=$tensor([ 1.2607]), grad = -1.478623867034912
\t x = 2.0, y = 4.0, w=$tensor([ 1.2755]), pred=$tensor([ 2.5509]), grad = -5.796205520629883
\t x = 3.0, y = 6.0, w=$tensor([ 1.3334]), pred=$tensor([ 4.0003]), grad = -11.998146057128906
episode 1 last loss = 3.9987640380859375 (error^2)
\t x = 1.0, y = 2.0, w=$tensor([ 1.4534]), pred=$tensor([ 1.4534]), grad = -1.0931644439697266
\t x = 2.0, y = 4.0, w=$tensor([ 1.4643]), pred=$tensor([ 2.9287]), grad = -4.285204887390137
\t x = 3.0, y = 6.0, w=$tensor([ 1.5072]), pred=$tensor([ 4.5216]), grad = -8.870372772216797
episode 2 last loss = 2.1856532096862793 (er""", modern="@MODERN_004_In56", truncated=True,
     old_format=True)

# ---------------------------------------------------------------------------- torch 2.13

# What torch 2.13 prints for the two cells the seed dumps cut off (and, for 004, in the
# modern tensor format): the float32 arithmetic of every step, to the last digit.
MODERN = {}
MODERN["@MODERN_000_In18"] = (
    'x=1.0, y=2.0, grad=-2.0\n'
    'x=2.0, y=4.0, grad=-7.840000152587891\n'
    'x=3.0, y=6.0, grad=-16.228801727294922\n'
    'epoch=0, loss=7.315943717956543\n'
    'x=1.0, y=2.0, grad=-1.478623867034912\n'
    'x=2.0, y=4.0, grad=-5.796205520629883\n'
    'x=3.0, y=6.0, grad=-11.998146057128906\n'
    'epoch=1, loss=3.9987640380859375\n'
    'x=1.0, y=2.0, grad=-1.0931644439697266\n'
    'x=2.0, y=4.0, grad=-4.285204887390137\n'
    'x=3.0, y=6.0, grad=-8.870372772216797\n'
    'epoch=2, loss=2.1856532096862793\n'
    'x=1.0, y=2.0, grad=-0.8081896305084229\n'
    'x=2.0, y=4.0, grad=-3.1681032180786133\n'
    'x=3.0, y=6.0, grad=-6.557973861694336\n'
    'epoch=3, loss=1.1946394443511963\n'
    'x=1.0, y=2.0, grad=-0.5975041389465332\n'
    'x=2.0, y=4.0, grad=-2.3422164916992188\n'
    'x=3.0, y=6.0, grad=-4.848389625549316\n'
    'epoch=4, loss=0.6529689431190491\n'
    'x=1.0, y=2.0, grad=-0.4417421817779541\n'
    'x=2.0, y=4.0, grad=-1.7316293716430664\n'
    'x=3.0, y=6.0, grad=-3.58447265625\n'
    'epoch=5, loss=0.35690122842788696\n'
    'x=1.0, y=2.0, grad=-0.3265852928161621\n'
    'x=2.0, y=4.0, grad=-1.2802143096923828\n'
    'x=3.0, y=6.0, grad=-2.650045394897461\n'
    'epoch=6, loss=0.195076122879982\n'
    'x=1.0, y=2.0, grad=-0.24144840240478516\n'
    'x=2.0, y=4.0, grad=-0.9464778900146484\n'
    'x=3.0, y=6.0, grad=-1.9592113494873047\n'
    'epoch=7, loss=0.10662525147199631\n'
    'x=1.0, y=2.0, grad=-0.17850565910339355\n'
    'x=2.0, y=4.0, grad=-0.699742317199707\n'
    'x=3.0, y=6.0, grad=-1.4484672546386719\n'
    'epoch=8, loss=0.0582793727517128\n'
    'x=1.0, y=2.0, grad=-0.1319713592529297\n'
    'x=2.0, y=4.0, grad=-0.5173273086547852\n'
    'x=3.0, y=6.0, grad=-1.070866584777832\n'
    'epoch=9, loss=0.03185431286692619\n'
)
MODERN["@MODERN_004_In56"] = (
    'When x=3, result is 3.0, should be 6\n'
    '\t x = 1.0, y = 2.0, w=$tensor([1.]), pred=$tensor([1.], grad_fn=<MulBackward0>), grad = -2.0\n'
    '\t x = 2.0, y = 4.0, w=$tensor([1.0200]), pred=$tensor([2.0400], grad_fn=<MulBackward0>), grad = -7.840000152587891\n'
    '\t x = 3.0, y = 6.0, w=$tensor([1.0984]), pred=$tensor([3.2952], grad_fn=<MulBackward0>), grad = -16.228801727294922\n'
    'episode 0 last loss = 7.315943717956543 (error^2)\n'
    '\t x = 1.0, y = 2.0, w=$tensor([1.2607]), pred=$tensor([1.2607], grad_fn=<MulBackward0>), grad = -1.478623867034912\n'
    '\t x = 2.0, y = 4.0, w=$tensor([1.2755]), pred=$tensor([2.5509], grad_fn=<MulBackward0>), grad = -5.796205520629883\n'
    '\t x = 3.0, y = 6.0, w=$tensor([1.3334]), pred=$tensor([4.0003], grad_fn=<MulBackward0>), grad = -11.998146057128906\n'
    'episode 1 last loss = 3.9987640380859375 (error^2)\n'
    '\t x = 1.0, y = 2.0, w=$tensor([1.4534]), pred=$tensor([1.4534], grad_fn=<MulBackward0>), grad = -1.0931644439697266\n'
    '\t x = 2.0, y = 4.0, w=$tensor([1.4643]), pred=$tensor([2.9287], grad_fn=<MulBackward0>), grad = -4.285204887390137\n'
    '\t x = 3.0, y = 6.0, w=$tensor([1.5072]), pred=$tensor([4.5216], grad_fn=<MulBackward0>), grad = -8.870372772216797\n'
    'episode 2 last loss = 2.1856532096862793 (error^2)\n'
    '\t x = 1.0, y = 2.0, w=$tensor([1.5959]), pred=$tensor([1.5959], grad_fn=<MulBackward0>), grad = -0.8081896305084229\n'
    '\t x = 2.0, y = 4.0, w=$tensor([1.6040]), pred=$tensor([3.2080], grad_fn=<MulBackward0>), grad = -3.1681032180786133\n'
    '\t x = 3.0, y = 6.0, w=$tensor([1.6357]), pred=$tensor([4.9070], grad_fn=<MulBackward0>), grad = -6.557973861694336\n'
    'episode 3 last loss = 1.1946394443511963 (error^2)\n'
    '\t x = 1.0, y = 2.0, w=$tensor([1.7012]), pred=$tensor([1.7012], grad_fn=<MulBackward0>), grad = -0.5975041389465332\n'
    '\t x = 2.0, y = 4.0, w=$tensor([1.7072]), pred=$tensor([3.4144], grad_fn=<MulBackward0>), grad = -2.3422164916992188\n'
    '\t x = 3.0, y = 6.0, w=$tensor([1.7306]), pred=$tensor([5.1919], grad_fn=<MulBackward0>), grad = -4.848389625549316\n'
    'episode 4 last loss = 0.6529689431190491 (error^2)\n'
    '\t x = 1.0, y = 2.0, w=$tensor([1.7791]), pred=$tensor([1.7791], grad_fn=<MulBackward0>), grad = -0.4417421817779541\n'
    '\t x = 2.0, y = 4.0, w=$tensor([1.7835]), pred=$tensor([3.5671], grad_fn=<MulBackward0>), grad = -1.7316293716430664\n'
    '\t x = 3.0, y = 6.0, w=$tensor([1.8009]), pred=$tensor([5.4026], grad_fn=<MulBackward0>), grad = -3.58447265625\n'
    'episode 5 last loss = 0.35690122842788696 (error^2)\n'
    '\t x = 1.0, y = 2.0, w=$tensor([1.8367]), pred=$tensor([1.8367], grad_fn=<MulBackward0>), grad = -0.3265852928161621\n'
    '\t x = 2.0, y = 4.0, w=$tensor([1.8400]), pred=$tensor([3.6799], grad_fn=<MulBackward0>), grad = -1.2802143096923828\n'
    '\t x = 3.0, y = 6.0, w=$tensor([1.8528]), pred=$tensor([5.5583], grad_fn=<MulBackward0>), grad = -2.650045394897461\n'
    'episode 6 last loss = 0.195076122879982 (error^2)\n'
    '\t x = 1.0, y = 2.0, w=$tensor([1.8793]), pred=$tensor([1.8793], grad_fn=<MulBackward0>), grad = -0.24144840240478516\n'
    '\t x = 2.0, y = 4.0, w=$tensor([1.8817]), pred=$tensor([3.7634], grad_fn=<MulBackward0>), grad = -0.9464778900146484\n'
    '\t x = 3.0, y = 6.0, w=$tensor([1.8912]), pred=$tensor([5.6735], grad_fn=<MulBackward0>), grad = -1.9592113494873047\n'
    'episode 7 last loss = 0.10662525147199631 (error^2)\n'
    '\t x = 1.0, y = 2.0, w=$tensor([1.9107]), pred=$tensor([1.9107], grad_fn=<MulBackward0>), grad = -0.17850565910339355\n'
    '\t x = 2.0, y = 4.0, w=$tensor([1.9125]), pred=$tensor([3.8251], grad_fn=<MulBackward0>), grad = -0.699742317199707\n'
    '\t x = 3.0, y = 6.0, w=$tensor([1.9195]), pred=$tensor([5.7586], grad_fn=<MulBackward0>), grad = -1.4484672546386719\n'
    'episode 8 last loss = 0.0582793727517128 (error^2)\n'
    '\t x = 1.0, y = 2.0, w=$tensor([1.9340]), pred=$tensor([1.9340], grad_fn=<MulBackward0>), grad = -0.1319713592529297\n'
    '\t x = 2.0, y = 4.0, w=$tensor([1.9353]), pred=$tensor([3.8707], grad_fn=<MulBackward0>), grad = -0.5173273086547852\n'
    '\t x = 3.0, y = 6.0, w=$tensor([1.9405]), pred=$tensor([5.8215], grad_fn=<MulBackward0>), grad = -1.070866584777832\n'
    'episode 9 last loss = 0.03185431286692619 (error^2)\n'
    'When x=3, result is 5.8536481857299805, should be 6\n'
)

# ---------------------------------------------------------------------------- running cells


def _engine_namespace(engine):
    """A module named tapegrad holding the engine's names and its nn/optim/autograd."""
    mod = types.ModuleType("tapegrad")
    for name in dir(engine):
        if not name.startswith("__"):
            setattr(mod, name, getattr(engine, name))

    def __getattr__(name):  # nn, optim, autograd: imported when a cell first uses them
        if name in ("nn", "optim", "autograd"):
            return getattr(libs_for(engine), name)
        raise AttributeError(f"module 'tapegrad' ({engine.__name__}) has no attribute {name!r}")

    mod.__getattr__ = __getattr__
    return mod


def _torch_namespace(torch):
    import torch.autograd
    import torch.nn
    import torch.optim
    return torch


def _make_globals(tg):
    """Globals for exec: ``import tapegrad...`` resolves to ``tg``; matplotlib (imported
    and unused by seed 003) to a stub when it is not installed."""
    real_import = builtins.__import__

    def resolve(name):
        obj = tg
        for part in name.split(".")[1:]:
            obj = getattr(obj, part)
        return obj

    def hooked_import(name, globals=None, locals=None, fromlist=(), level=0):
        if level == 0 and (name == "tapegrad" or name.startswith("tapegrad.")):
            return resolve(name) if fromlist else tg
        if level == 0 and name == "matplotlib":
            try:
                return real_import(name, globals, locals, fromlist, level)
            except ImportError:
                return types.ModuleType("matplotlib")
        return real_import(name, globals, locals, fromlist, level)

    b = dict(vars(builtins))
    b["__import__"] = hooked_import
    return {"__builtins__": b, "__name__": "__main__"}


def run_cell(source, glb):
    """Execute like a Jupyter cell; return what it printed (the last expression's repr
    included)."""
    tree = ast.parse(source)
    last = None
    if tree.body and isinstance(tree.body[-1], ast.Expr):
        last = ast.Expression(tree.body.pop().value)
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(tree, "<cell>", "exec"), glb)
        if last is not None:
            value = eval(compile(last, "<cell>", "eval"), glb)
            if value is not None:
                print(repr(value))
    return buf.getvalue()


def _setup(seed, glb):
    if seed == "000":  # W_x of the In12 cell: a 20x20 weight defined elsewhere in that notebook
        run_cell("import tapegrad\nW_x = tapegrad.randn(20, 20, requires_grad=True)\n", glb)


def run_seed_until(tg, target):
    """Run the cells of target's seed up to and including target; return its output."""
    glb = _make_globals(tg)
    _setup(target.seed, glb)
    for c in CELLS:
        if c.seed != target.seed:
            continue
        out = run_cell(c.source, glb)
        if c is target:
            return out, glb
    raise AssertionError(target)  # pragma: no cover


# ---------------------------------------------------------------------------- comparison

_TENSOR = re.compile(r"tensor\((\[[^\]]*\]|[^,)]*)(?:, [a-z_]+=[^)]*)?\)")


def _numbers(text):
    return [float(x) for x in re.findall(r"[-+]?(?:\d+\.\d*|\.\d+|\d+)(?:e[-+]?\d+)?|nan|-?inf", text)]


def assert_old_format_line(actual, expected):
    """A line printed by old PyTorch: the text outside tensor(...) identical, the numbers
    inside equal at the printed precision."""
    act_t = _TENSOR.findall(actual)
    exp_t = _TENSOR.findall(expected)
    assert _TENSOR.sub("tensor(#)", actual) == _TENSOR.sub("tensor(#)", expected), (
        f"\n got      {actual!r}\n expected {expected!r}")
    assert len(act_t) == len(exp_t)
    for a, e in zip(act_t, exp_t):
        a_nums, e_nums = _numbers(a), _numbers(e)
        assert a_nums == e_nums, f"numbers {a_nums} != {e_nums} in\n {actual!r}\n {expected!r}"


_NUMBER = re.compile(r"-?\d+\.(\d+)")


def assert_numbers_close(out, expected):
    assert _NUMBER.sub("#", out) == _NUMBER.sub("#", expected), _diff(out, expected)
    for a, e in zip(_NUMBER.finditer(out), _NUMBER.finditer(expected)):
        ulp = 10.0 ** -len(e.group(1))
        x, y = float(a.group(0)), float(e.group(0))
        assert abs(x - y) <= 1e-6 * abs(y) + 2 * ulp, (a.group(0), e.group(0), _diff(out, expected))


def check_output(c, out):
    modern = MODERN.get(c.modern) if c.modern else None
    if modern is not None:
        assert out == modern, _diff(out, modern)
    if c.numpy_rounding:
        assert_numbers_close(out, c.expected)
        return
    if not c.truncated and not c.old_format:
        assert out == c.expected, _diff(out, c.expected)
        return
    # the seed's text up to its cut
    exp_lines = c.expected.split("\n")
    out_lines = out.split("\n")
    assert len(out_lines) >= len(exp_lines), _diff(out, c.expected)
    for k, (a, e) in enumerate(zip(out_lines, exp_lines)):
        is_cut = c.truncated and k == len(exp_lines) - 1
        if is_cut:
            a = a[:len(e)]
        if c.old_format and "tensor(" in e:
            assert_old_format_line(a, e)
        else:
            assert a == e, f"line {k}:\n got      {a!r}\n expected {e!r}"


def _diff(out, expected):
    import difflib

    return "output differs from the seed's:\n" + "".join(difflib.unified_diff(
        expected.splitlines(True), out.splitlines(True), "expected", "got"))


# ---------------------------------------------------------------------------- the tests


@pytest.mark.parametrize("c", CELLS, ids=[c.id for c in CELLS])
def test_seed_cell(engine, c):
    out, _ = run_seed_until(_engine_namespace(engine), c)
    check_output(c, out)


@pytest.mark.parametrize("c", [c for c in CELLS if c.modern],
                         ids=[c.id for c in CELLS if c.modern])
def test_modern_text_is_torchs(torch, c):
    """The recorded modern text is what the installed torch prints for the same cell."""
    out, _ = run_seed_until(_torch_namespace(torch), c)
    assert out == MODERN[c.modern], _diff(out, MODERN[c.modern])
    check_output(c, out)


def _linear_run(engine, seed=20240):
    """Run seed 002's last cell after seeding the engine's generator; return the output
    and the initial (w, b) of its nn.Linear (read from an identically seeded Linear)."""
    libs = libs_for(engine)
    engine.manual_seed(seed)
    probe = libs.nn.Linear(1, 1)
    w0 = float(probe.weight.detach().numpy().reshape(-1)[0])
    b0 = float(probe.bias.detach().numpy().reshape(-1)[0])
    engine.manual_seed(seed)
    glb = _make_globals(_engine_namespace(engine))
    for k in CELLS:
        if k.seed == "002":
            run_cell(k.source, glb)
    out = run_cell(LINEAR_CELL, glb)
    return out, w0, b0


_LINE = re.compile(r"epoch (\d+): w = (-?\d+\.\d{3}), loss = (\d+\.\d{8})$")


def _simulate_linear(w0, b0, steps=100, lr=0.01):
    """float64 gradient descent on MSE for y = w x + b, x = 1..4, y = 2x."""
    x = np.array([1.0, 2.0, 3.0, 4.0])
    y = 2 * x
    w, b = w0, b0
    rows = []
    for epoch in range(steps):
        r = w * x + b - y
        loss = float(np.mean(r * r))
        w, b = w - lr * float(np.mean(2 * r * x)), b - lr * float(np.mean(2 * r))
        rows.append((w, loss))
    return rows, 5 * w + b


def test_seed_002_linear_model(engine):
    """Seed 002's last cell: nn.Linear(1, 1) with random initial weights, so the numbers
    the seed prints are not reproducible. (They are not even reachable from the code
    shown: its print-out matches a bias-free model starting at w = 1; with the bias
    trained, gradient descent at lr 0.01 contracts the slow eigen-direction of this
    problem by only 0.997 per step, so after 100 steps f(5) is 10.000 for essentially no
    initial weights -- torch gives 9.6-10.2 for seeds 0..199.) Checked: the deterministic
    line "4 1", the print format, the prediction before training from the initial
    weights, losses decreasing, and every printed number against float64 gradient
    descent from the same initial weights."""
    out, w0, b0 = _linear_run(engine)
    lines = out.rstrip("\n").split("\n")
    assert lines[0] == "4 1"
    before = float(re.fullmatch(r"Prediction before training: f\(5\) = (-?\d+\.\d{3})",
                                lines[1]).group(1))
    assert abs(before - (5 * w0 + b0)) <= 0.0005 + 1e-6, (lines[1], w0, b0)
    rows, f5 = _simulate_linear(w0, b0)
    epochs = lines[2:-1]
    assert len(epochs) == 10, out
    losses = []
    for k, line in enumerate(epochs):
        m = _LINE.fullmatch(line)
        assert m, line
        epoch, w, loss = int(m.group(1)), float(m.group(2)), float(m.group(3))
        assert epoch == 10 * k + 1
        w_sim, loss_sim = rows[epoch - 1]
        assert abs(w - w_sim) <= 0.0005 + 1e-4, (line, w_sim)
        assert abs(loss - loss_sim) <= 5e-9 + 1e-4 * loss_sim, (line, loss_sim)
        losses.append(loss_sim)
        if k:
            assert loss <= float(_LINE.fullmatch(epochs[k - 1]).group(3)), out
    assert all(b < a for a, b in zip(losses, losses[1:])), losses
    after = float(re.fullmatch(r"Prediction after training: f\(5\) = (-?\d+\.\d{3})",
                               lines[-1]).group(1))
    assert abs(after - f5) <= 0.0005 + 1e-4, (lines[-1], f5)
    assert abs(after - 10.0) < abs(before - 10.0)


def test_seed_002_linear_model_against_torch(engine, torch, request):
    """The same cell in torch from the engine's initial weights prints the same text.

    Since nn.Linear draws torch's initial weights (issue 11), seed 20240 gives torch's
    weights, and from them the reference engine prints epoch 21's loss as 0.07890795
    where torch prints 0.07890810: its float32 matmul rounds each product (numpy),
    torch's MKL sgemm accumulates with fused multiply-adds (one weight gradient at step 3
    differs in the last bit: -26.591066 vs -26.591064). 4 of the seeds 20240..20259 show
    it; the old numpy-drawn weights for 20240 happened not to."""
    if engine.ENGINE == "python":      # strict: passing would be news
        request.applymarker(pytest.mark.xfail(
            strict=True, reason="the reference's float32 matmul does not fuse multiply-adds "
            "as torch's MKL sgemm does (see the docstring)"))
    out, w0, b0 = _linear_run(engine)
    glb = _make_globals(_torch_namespace(torch))
    real_linear = torch.nn.Linear

    class SeededLinear(real_linear):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            with torch.no_grad():
                self.weight.fill_(w0)
                self.bias.fill_(b0)

    torch.nn.Linear = SeededLinear
    try:
        for k in CELLS:
            if k.seed == "002":
                run_cell(k.source, glb)
        expected = run_cell(LINEAR_CELL, glb)
    finally:
        torch.nn.Linear = real_linear
    assert out == expected, _diff(out, expected)


def test_every_seed_cell_is_here():
    """Cells per seed, as counted in the notebook dumps (all In[...] code cells)."""
    counts = {}
    for c in CELLS:
        counts[c.seed] = counts.get(c.seed, 0) + 1
    counts["002"] += 1  # LINEAR_CELL
    assert counts == {"000": 4, "001": 15, "002": 5, "003": 15, "004": 4}
