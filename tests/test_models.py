"""The networks written in ``experiments/models``: sizes that match the references, output shapes, pooling."""

import pytest
import torch
import torch.nn.functional as F
from transformers import BertConfig, BertModel

from experiments.models.conv_2c2d import Conv2c2d
from experiments.models.conv_3c3d import Conv3c3d, same_max_pool
from experiments.models.mlp import MLP
from experiments.models.resnet import resnet18, resnet50, small_resnet
from experiments.models.text_classifier import EncoderClassifier
from experiments.models.vae import VAE, vae_loss_per_image
from experiments.models.wide_resnet import WideResNet


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_resnet50_has_torchvision_parameter_count():
    assert parameter_count(resnet50()) == 25_557_032  # torchvision.models.resnet50()


def test_resnet18_stems_have_reference_parameter_counts():
    assert parameter_count(resnet18(10, "cifar")) == 11_173_962  # kuangliu/pytorch-cifar ResNet18
    assert parameter_count(resnet18(1000, "imagenet")) == 11_689_512  # torchvision.models.resnet18()
    with pytest.raises(ValueError, match="stem"):
        resnet18(10, "tiny")


def test_imagenet_stem_quarters_the_resolution_before_the_first_stage():
    images = torch.randn(1, 3, 32, 32)
    assert resnet18(10, "imagenet").stem(images).shape == (1, 64, 8, 8)
    assert resnet18(10, "cifar").stem(images).shape == (1, 64, 32, 32)


def test_3c3d_has_the_deepobs_parameter_count():
    assert parameter_count(Conv3c3d(10)) == 895_210  # DeepOBS cifar10_3c3d


@pytest.mark.parametrize("size", [28, 12, 6])
def test_3c3d_pooling_is_tensorflow_same_pooling(size):
    # TensorFlow "same": output ceil(size / 2), padding (0 before, 1 after) that no window maximum can come from.
    features = torch.randn(2, 3, size, size, dtype=torch.float64)
    tensorflow_same = F.max_pool2d(F.pad(features, (0, 1, 0, 1), value=float("-inf")), 3, stride=2)
    torch.testing.assert_close(same_max_pool()(features), tensorflow_same, rtol=0, atol=0)
    assert F.max_pool2d(features, 3, stride=2).shape[-1] == size // 2 - 1  # control: PyTorch's default is smaller


def test_2c2d_width_scales_every_hidden_layer():
    def weight_shapes(model):
        return [tuple(p.shape) for name, p in model.named_parameters() if name.endswith("weight")]

    assert weight_shapes(Conv2c2d(10)) == [(32, 1, 5, 5), (64, 32, 5, 5), (1024, 3136), (10, 1024)]
    assert weight_shapes(Conv2c2d(10, width=0.25)) == [(8, 1, 5, 5), (16, 8, 5, 5), (256, 784), (10, 256)]
    with pytest.raises(ValueError, match="width"):
        Conv2c2d(10, width=0.01)


def test_vae_channels_set_every_convolution():
    convolutions = [m for m in VAE(channels=16).modules() if isinstance(m, torch.nn.Conv2d | torch.nn.ConvTranspose2d)]
    assert len(convolutions) == 6 and all(16 in (m.in_channels, m.out_channels) for m in convolutions)
    assert all(64 not in (m.in_channels, m.out_channels) for m in convolutions)
    reconstruction, _, _ = VAE(channels=16)(torch.rand(2, 1, 28, 28))
    assert reconstruction.shape == (2, 1, 28, 28)
    assert parameter_count(VAE()) > 3 * parameter_count(VAE(channels=16))


def test_wide_resnet_sizes_match_the_paper():
    # Zagoruyko & Komodakis report 2.7M (WRN-16-4) and 36.5M (WRN-28-10) parameters.
    assert parameter_count(WideResNet(16, 4, 100)) == pytest.approx(2.75e6, rel=0.02)
    assert parameter_count(WideResNet(28, 10, 100)) == pytest.approx(36.5e6, rel=0.01)


def test_wide_resnet_rejects_bad_depth():
    with pytest.raises(ValueError, match="6n \\+ 4"):
        WideResNet(15, 4, 10)


@pytest.mark.parametrize(
    "model, shape, classes",
    [
        (MLP(784, [32, 16], 10), (3, 1, 28, 28), 10),
        (Conv2c2d(10), (3, 1, 28, 28), 10),
        (small_resnet(10, in_channels=1), (3, 1, 28, 28), 10),
        (Conv3c3d(10), (3, 3, 32, 32), 10),
        (resnet18(100, "cifar"), (3, 3, 32, 32), 100),
        (resnet18(100, "imagenet"), (3, 3, 32, 32), 100),
        (WideResNet(16, 4, 100), (3, 3, 32, 32), 100),
        (resnet50(7), (2, 3, 64, 64), 7),
    ],
    ids=["mlp", "2c2d", "3c3d", "small-resnet", "resnet18-cifar", "resnet18-imagenet", "wrn16-4", "resnet50"],
)
def test_classifiers_give_one_logit_per_class(model, shape, classes):
    assert model(torch.randn(shape)).shape == (shape[0], classes)


def test_vae_reconstructs_input_shape_and_loss_is_positive():
    torch.manual_seed(0)
    images = torch.rand(4, 1, 28, 28)
    reconstruction, mean, log_std = VAE()(images)
    assert reconstruction.shape == images.shape and mean.shape == log_std.shape == (4, 8)
    assert (vae_loss_per_image((reconstruction, mean, log_std), images) > 0).all()


def test_vae_kl_term_vanishes_at_the_prior():
    images = torch.zeros(2, 1, 28, 28)
    outputs = (images.clone(), torch.zeros(2, 8), torch.zeros(2, 8))
    assert torch.equal(vae_loss_per_image(outputs, images), torch.zeros(2))


def test_mean_pooling_ignores_padding_tokens():
    torch.manual_seed(0)
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0)
    classifier = EncoderClassifier(BertModel(config, add_pooling_layer=False), 3, "mean").eval()
    short = {"input_ids": torch.tensor([[5, 6, 7]]), "attention_mask": torch.tensor([[1, 1, 1]])}
    padded = {"input_ids": torch.tensor([[5, 6, 7, 0, 0]]), "attention_mask": torch.tensor([[1, 1, 1, 0, 0]])}
    torch.testing.assert_close(classifier(short), classifier(padded))


def test_encoder_classifier_rejects_unknown_pooling():
    config = BertConfig(vocab_size=50, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=32)
    with pytest.raises(ValueError, match="pooling"):
        EncoderClassifier(BertModel(config), 2, "max")


def test_sequence_classifier_passes_the_mask_and_returns_logits():
    from transformers import GPT2Config, GPT2ForSequenceClassification

    from experiments.models.text_classifier import SequenceClassifier

    torch.manual_seed(0)
    config = GPT2Config(vocab_size=20, n_positions=16, n_embd=8, n_layer=1, n_head=2, num_labels=3, pad_token_id=0,
                        resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0)
    classifier = SequenceClassifier(GPT2ForSequenceClassification(config)).eval()
    short = {"input_ids": torch.tensor([[5, 6, 7]]), "attention_mask": torch.tensor([[1, 1, 1]])}
    padded = {"input_ids": torch.tensor([[5, 6, 7, 0, 0]]), "attention_mask": torch.tensor([[1, 1, 1, 0, 0]])}
    assert classifier(short).shape == (1, 3)
    torch.testing.assert_close(classifier(short), classifier(padded))
