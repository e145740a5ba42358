"""strided.nn: layers, losses and their functional forms (torch.nn's API)."""
from strided.nn import functional
from strided.nn import init
from strided.nn.parameter import Parameter
from strided.nn.module import Module
from strided.nn.container import (Sequential, ModuleList, ModuleDict, ParameterList,
                                  ParameterDict)
from strided.nn.layers import (
    Identity, Linear, Conv1d, Conv2d, ReLU, LeakyReLU, GELU, SiLU, Sigmoid, Tanh, Softmax,
    LogSoftmax, Flatten, Unflatten, Dropout, Dropout1d, Dropout2d, Dropout3d, MaxPool1d,
    MaxPool2d, AvgPool1d, AvgPool2d, AdaptiveAvgPool1d, AdaptiveAvgPool2d, BatchNorm1d, BatchNorm2d, LayerNorm, Embedding)
from strided.nn.loss import (CrossEntropyLoss, NLLLoss, MSELoss, L1Loss, BCELoss,
                             BCEWithLogitsLoss, SmoothL1Loss, HuberLoss, KLDivLoss,
                             MarginRankingLoss, HingeEmbeddingLoss, CosineEmbeddingLoss,
                             TripletMarginLoss, SoftMarginLoss, MultiLabelSoftMarginLoss,
                             MultiMarginLoss, PoissonNLLLoss, GaussianNLLLoss)
from strided.nn.conv_transpose import ConvTranspose1d, ConvTranspose2d
from strided.nn.resampling import (
    Upsample, UpsamplingNearest2d, UpsamplingBilinear2d, ZeroPad1d, ZeroPad2d, ConstantPad1d,
    ConstantPad2d, ConstantPad3d, ReflectionPad1d, ReflectionPad2d, ReplicationPad1d,
    ReplicationPad2d, CircularPad1d, CircularPad2d)
from strided.nn import utils
from strided.nn.attention import MultiheadAttention
from strided.nn.rnn import RNN, LSTM, GRU, RNNCell, LSTMCell, GRUCell, RNNBase, RNNCellBase
from strided.nn.transformer import (TransformerEncoderLayer, TransformerDecoderLayer,
                                    TransformerEncoder, TransformerDecoder, Transformer)
from strided.nn.activation import (
    ELU, CELU, SELU, Softplus, Softsign, Hardtanh, ReLU6, Hardsigmoid, Hardswish, Mish,
    LogSigmoid, Softshrink, Hardshrink, Tanhshrink, Threshold, PReLU, RReLU, GLU, Softmin,
    Softmax2d)
from strided.nn.normalization import (GroupNorm, InstanceNorm1d, InstanceNorm2d,
                                      InstanceNorm3d, RMSNorm, LocalResponseNorm)
from strided.nn.distance import CosineSimilarity, PairwiseDistance
from strided.nn.rearrange import PixelShuffle, PixelUnshuffle, ChannelShuffle, Unfold, Fold
