"""DeepOBS-style variational auto-encoder for ``1 x 28 x 28`` images (the ``mnist_vae`` / ``fmnist_vae`` problems).

Encoder: three 4x4 convolutions with ``channels`` = 64 channels (strides 2, 2, 1), leaky ReLU (slope 0.3) and dropout
0.2, then two dense heads giving the mean and the log standard deviation of an 8-dimensional Gaussian latent.
Decoder: dense 24 and 49 units (leaky ReLU), reshape to 1x7x7, three 4x4 transposed convolutions with ``channels``
channels (strides 2, 1, 1; ReLU; dropout after the first two) giving channels x 14 x 14, then dense to 784 pixels and
a sigmoid. DeepOBS uses 64 channels. For CPU-sized runs, 16 channels need 9x fewer multiply-adds (4.5M instead of
42M per image: the channel-to-channel convolutions shrink 16x, the layers touching one image plane 4x); one
thread's SGD step at batch 64 then takes ~6x less time (~35 instead of ~200 ms), 8 channels ~11x less.
A stride-1 "same" transposed convolution is a plain convolution, so those layers are convolutions after TensorFlow's
"same" padding of a 4x4 kernel (1 before, 2 after).

Loss (DeepOBS): per image, the summed squared reconstruction error plus the KL divergence of the latent from N(0, I),
averaged over the batch. The latent sample uses torch's global RNG, which the harness seeds.
"""

import torch
from torch import nn

LATENT_SIZE = 8
_SLOPE = 0.3
_DROPOUT = 0.2


CHANNELS = 64


def _same_4x4(channels: int) -> nn.Sequential:
    """Stride-1 4x4 convolution keeping the channels and the spatial size, as TensorFlow's "same" padding does."""
    return nn.Sequential(nn.ZeroPad2d((1, 2, 1, 2)), nn.Conv2d(channels, channels, 4))


class VAE(nn.Module):
    """``forward(images) -> (reconstruction, mean, log_std)``; the reconstruction has the input's shape."""

    def __init__(self, latent_size: int = LATENT_SIZE, channels: int = CHANNELS):
        super().__init__()
        self.encoder = nn.Sequential(
            nn.Conv2d(1, channels, 4, stride=2, padding=1), nn.LeakyReLU(_SLOPE), nn.Dropout(_DROPOUT),  # 14x14
            nn.Conv2d(channels, channels, 4, stride=2, padding=1), nn.LeakyReLU(_SLOPE), nn.Dropout(_DROPOUT),  # 7x7
            _same_4x4(channels), nn.LeakyReLU(_SLOPE), nn.Dropout(_DROPOUT),  # 7x7
            nn.Flatten(),
        )
        self.mean = nn.Linear(channels * 7 * 7, latent_size)
        self.log_std = nn.Linear(channels * 7 * 7, latent_size)
        self.decoder = nn.Sequential(
            nn.Linear(latent_size, 24), nn.LeakyReLU(_SLOPE),
            nn.Linear(24, 49), nn.LeakyReLU(_SLOPE),
            nn.Unflatten(1, (1, 7, 7)),
            nn.ConvTranspose2d(1, channels, 4, stride=2, padding=1), nn.ReLU(), nn.Dropout(_DROPOUT),  # 14x14
            _same_4x4(channels), nn.ReLU(), nn.Dropout(_DROPOUT),  # 14x14
            _same_4x4(channels), nn.ReLU(),  # 14x14
            nn.Flatten(),
            nn.Linear(channels * 14 * 14, 28 * 28), nn.Sigmoid(),
        )

    def forward(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        features = self.encoder(images)
        mean, log_std = self.mean(features), self.log_std(features)
        latent = mean + torch.randn_like(mean) * log_std.exp()
        reconstruction = self.decoder(latent).view_as(images)
        return reconstruction, mean, log_std


def vae_loss_per_image(outputs: tuple[torch.Tensor, ...], images: torch.Tensor) -> torch.Tensor:
    """Summed squared reconstruction error + KL(q(z|x) || N(0, I)), one value per image."""
    reconstruction, mean, log_std = outputs
    reconstruction_error = (reconstruction - images).pow(2).flatten(1).sum(1)
    kl = -0.5 * (1.0 + 2.0 * log_std - mean.pow(2) - (2.0 * log_std).exp()).sum(1)
    return reconstruction_error + kl


def vae_loss(outputs: tuple[torch.Tensor, ...], images: torch.Tensor) -> torch.Tensor:
    return vae_loss_per_image(outputs, images).mean()


def vae_metrics(outputs: tuple[torch.Tensor, ...], images: torch.Tensor) -> dict[str, torch.Tensor]:
    return {"loss": vae_loss_per_image(outputs, images).sum()}
