"""Greedy layer-wise pretraining: one shallow autoencoder per hidden layer."""

import torch
from skorch.history import History

from ._data import INFERENCE_CHUNK_SIZE, ArrayDataset, BatchIterator
from ._modules import StackedAutoencoder
from ._training import SliceNet, build_net, train_module

__all__ = ["fit_layerwise"]


def fit_layerwise(
    pretrainer,
    train_data: ArrayDataset,
    valid_data: ArrayDataset | None,
    *,
    seed: int,
    device: torch.device,
) -> SliceNet:
    """Train ``pretrainer``'s autoencoder one layer at a time; return its net.

    Stage k trains a shallow autoencoder on the codings of layers 1..k-1 and
    its two layers are copied into the full stack. The returned net holds the
    full autoencoder, and its history every stage's epochs, marked ``stage``.
    """
    n_features = train_data.X.shape[1]
    sizes = [n_features, *pretrainer._layer_sizes()]
    n_layers = len(sizes) - 1
    full = pretrainer._build_module(n_features)
    history = History()
    stage_train, stage_valid = train_data, valid_data
    for layer in range(n_layers):
        is_top = layer == n_layers - 1
        stage = StackedAutoencoder(
            sizes[layer],
            (sizes[layer + 1],),
            pretrainer.activation,
            # Inner stages reconstruct activations with the same activation,
            # which is what the full decoder applies at that depth.
            output_activation=None if layer == 0 else pretrainer.activation,
            **pretrainer._module_options(),
        )
        criterion = pretrainer._criterion(
            reconstructs_input=layer == 0, penalises_codings=is_top
        )
        net = train_module(
            pretrainer,
            stage,
            criterion,
            stage_train,
            stage_valid,
            seed=seed + layer,
            device=device,
            phase=f"pretraining stage {layer + 1}",
        )
        full.encoder[layer].load_state_dict(stage.encoder[0].state_dict())
        full.decoder[n_layers - 1 - layer].load_state_dict(
            stage.decoder[0].state_dict()
        )
        _append_stage(history, net.history, layer + 1)
        if not is_top:
            stage_train = _encoded(stage.encoder, stage_train, device)
            if stage_valid is not None:
                stage_valid = _encoded(stage.encoder, stage_valid, device)

    if pretrainer.layerwise == "joint":
        net = train_module(
            pretrainer,
            full,
            pretrainer._criterion(),
            train_data,
            valid_data,
            seed=seed + n_layers,
            device=device,
            phase="pretraining (joint)",
        )
        _append_stage(history, net.history, "joint")
    else:
        net = build_net(
            pretrainer,
            full,
            pretrainer._criterion(),
            valid_data=None,
            seed=seed,
            device=device,
        ).initialize()
    net.history = history
    return net


def _encoded(encoder, dataset: ArrayDataset, device: torch.device) -> ArrayDataset:
    """Return the dataset of ``encoder``'s codings of every row of ``dataset``."""
    encoder.eval()
    with torch.no_grad():
        codings = [
            encoder(rows.to(device))
            for rows, _ in BatchIterator(dataset, INFERENCE_CHUNK_SIZE)
        ]
    return ArrayDataset(torch.cat(codings))


def _append_stage(history: History, stage_history: History, stage) -> None:
    for epoch in stage_history:
        history.append({**epoch, "epoch": len(history) + 1, "stage": stage})
