"""The networks written in ``experiments/models``: sizes that match the references, output shapes, pooling."""

import pytest
import torch
from transformers import BertConfig, BertModel

from experiments.models.conv_2c2d import Conv2c2d
from experiments.models.mlp import MLP
from experiments.models.resnet import resnet18_cifar, resnet50, small_resnet
from experiments.models.text_classifier import EncoderClassifier
from experiments.models.vae import VAE, vae_loss_per_image
from experiments.models.wide_resnet import WideResNet


def parameter_count(model: torch.nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def test_resnet50_has_torchvision_parameter_count():
    assert parameter_count(resnet50()) == 25_557_032  # torchvision.models.resnet50()


def test_resnet18_cifar_has_reference_parameter_count():
    assert parameter_count(resnet18_cifar(10)) == 11_173_962  # kuangliu/pytorch-cifar ResNet18


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
        (resnet18_cifar(100), (3, 3, 32, 32), 100),
        (WideResNet(16, 4, 100), (3, 3, 32, 32), 100),
        (resnet50(7), (2, 3, 64, 64), 7),
    ],
    ids=["mlp", "2c2d", "small-resnet", "resnet18-cifar", "wrn16-4", "resnet50"],
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
