"""The Python module `nst`: arrays in and out, options, callbacks, the GIL,
errors. Random VGG16 weights and images of 32-64 px keep each run well
under a second; one test uses the real weights when they are present."""
import _thread
import importlib.util
import threading
import time
from pathlib import Path

import numpy as np
import pytest

import nst

REPO = Path(__file__).resolve().parents[2]
REAL_WEIGHTS = [Path("/work/shared/weights/hed_vgg16_notop.h5"),
                REPO / ".." / "shared" / "weights" / "hed_vgg16_notop.h5"]


@pytest.fixture(scope="module")
def weights():
    return nst.random_weights(0)


def noise(h, w, seed):
    return np.random.default_rng(seed).integers(0, 256, (h, w, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def content():
    return noise(32, 48, 1)


@pytest.fixture(scope="module")
def style():
    return noise(40, 40, 2)


def run(content, style, weights, **options):
    """A short run: 32 px, 3 iterations, one thread (on tiny images more
    threads only add barriers, slow on a busy machine), unless the test
    says otherwise."""
    options = {"image_size": 32, "iterations": 3, "threads": 1, **options}
    return nst.stylize(content, [style], weights=weights, **options)


# Arrays in and out

def test_output_is_a_new_uint8_rgb_array_at_image_size(content, style, weights):
    out = run(content, style, weights, image_size=40)
    assert out.dtype == np.uint8
    assert out.ndim == 3 and out.shape[2] == 3
    assert max(out.shape[:2]) == 40
    assert abs(out.shape[1] / out.shape[0] - 48 / 32) < 0.1  # aspect kept
    assert out.flags["C_CONTIGUOUS"] and out.flags["WRITEABLE"]
    assert not np.shares_memory(out, content)
    out[:] = 0  # ours to change; the next run is unaffected
    assert run(content, style, weights, image_size=40).any()


def test_non_contiguous_input_gives_the_result_of_its_copy(content, style, weights):
    view = content[::-1, ::2]  # reversed rows, every other column
    assert not view.flags["C_CONTIGUOUS"]
    assert np.array_equal(run(content=view, style=style, weights=weights),
                          run(content=np.ascontiguousarray(view), style=style, weights=weights))


def test_load_and_save_image_round_trip(tmp_path, content):
    path = tmp_path / "image.png"
    nst.save_image(path, content)  # a PathLike
    assert np.array_equal(nst.load_image(str(path)), content)


# Progress and losses

def test_progress_is_called_once_per_iteration(content, style, weights):
    seen = []
    out = run(content, style, weights, iterations=4, optimizer="adam", progress=seen.append)
    assert [p.iteration for p in seen] == [1, 2, 3, 4]
    assert all(p.iterations == 4 and p.scale == 0 and p.scales == 1 for p in seen)
    assert all((p.height, p.width) == out.shape[:2] and p.ms > 0 for p in seen)


def test_progress_reports_each_scale(content, style, weights):
    seen = []
    run(content, style, weights, image_size=48, scales=[24], iterations=3, optimizer="adam",
        progress=seen.append)
    assert [(p.scale, p.iteration, max(p.width, p.height)) for p in seen] == [
        (0, 1, 24), (0, 2, 24), (0, 3, 24), (1, 1, 48)]  # a third of 3, rounded up, at the finer scale
    assert all(p.scales == 2 for p in seen)


def test_losses_decrease_over_a_run(content, style, weights):
    seen = []
    run(content, style, weights, iterations=8, progress=seen.append)
    totals = [p.losses.total for p in seen]
    assert all(np.isfinite(totals))
    assert totals[-1] < 0.8 * totals[0]
    last = seen[-1].losses
    assert last.total == pytest.approx(last.content + last.style + last.tv, rel=1e-6)


def test_tile_gives_the_untiled_result(content, style, weights):
    # 48x32 in 16 px tiles (6 tiles, each running on the whole image, as
    # VGG16's 64 px halo covers it): the same pixels up to float rounding.
    # L-BFGS, whose steps are continuous in the gradient: Adam's first steps
    # are +-lr by the gradient's sign, and rounding flips the sign of a
    # gradient near 0 (seen: a pixel 11 levels apart).
    untiled = run(content, style, weights, image_size=48, optimizer="lbfgs")
    tiled = run(content, style, weights, image_size=48, optimizer="lbfgs", tile=16)
    assert np.abs(untiled.astype(int) - tiled.astype(int)).max() <= 1
    with pytest.raises(ValueError, match="tile"):
        run(content, style, weights, tile=-1)


def test_loss_every_skips_the_reads_between(content, style, weights):
    seen = []
    run(content, style, weights, iterations=5, optimizer="adam", loss_every=2, progress=seen.append)
    assert [p.losses_read for p in seen] == [False, True, False, True, True]  # the last is always read
    assert all(np.isnan(p.losses.total) != p.losses_read for p in seen)


def test_log_receives_the_library_lines(content, style, weights):
    lines = []
    run(content, style, weights, log=lines.append)
    assert any(line.startswith("scale 1/1") for line in lines)


# Several content images

def test_stylize_many_gives_each_content_its_single_result(content, style, weights):
    contents = [content, noise(32, 48, 5), noise(48, 32, 6)]  # two of one shape, one of another
    seen = []
    outs = nst.stylize_many(contents, [style], weights=weights, image_size=32, iterations=3, threads=1,
                            progress=seen.append)
    assert len(outs) == 3
    for c, out in zip(contents, outs):
        assert np.array_equal(out, run(c, style, weights))
    assert not np.array_equal(outs[0], outs[1])
    assert [p.image for p in seen] == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert all(p.images == 3 for p in seen)


def test_stylize_many_checks_every_content_before_the_first_runs(content, style, weights):
    seen = []
    with pytest.raises(nst.InvalidArgument, match=r"contents\[1\]: .*shape \(32, 48\)"):
        nst.stylize_many([content, content[:, :, 0]], [style], weights=weights, progress=seen.append)
    with pytest.raises(TypeError, match="contents expects a list of arrays"):
        nst.stylize_many(content, [style], weights=weights)
    assert seen == []


# Determinism

def test_same_seed_gives_the_same_array(content, style, weights):
    first = run(content, style, weights, init="random", seed=7)
    assert np.array_equal(first, run(content, style, weights, init="random", seed=7))
    assert not np.array_equal(first, run(content, style, weights, init="random", seed=8))


def test_same_weights_seed_gives_the_same_weights(content, style):
    a = run(content, style, nst.random_weights(5))
    assert np.array_equal(a, run(content, style, nst.random_weights(5)))


# The GIL

def counts_per_second(action):
    """How fast a pure-Python thread counts while `action` runs here."""
    count, stop = 0, threading.Event()

    def spin():
        nonlocal count
        while not stop.is_set():
            count += 1

    thread = threading.Thread(target=spin)
    thread.start()
    start = time.perf_counter()
    action()
    elapsed = time.perf_counter() - start
    stop.set()
    thread.join()
    return count / elapsed


def test_other_threads_run_during_stylize(content, style, weights):
    # One engine thread leaves a core to the counter; with the GIL held for
    # the run the counter would stand still (a few counts per iteration).
    idle = counts_per_second(lambda: time.sleep(0.3))
    busy = counts_per_second(lambda: run(content, style, weights, image_size=48, iterations=15,
                                         optimizer="adam", threads=1))
    assert busy > 0.2 * idle, f"counter ran at {busy:.0f}/s during stylize, {idle:.0f}/s idle"


def test_concurrent_runs_match_sequential_ones(content, style, weights):
    seeds = [1, 2]
    expected = [run(content, style, weights, init="random", seed=s, threads=1) for s in seeds]
    results = [None, None]

    def job(i):
        results[i] = run(content, style, weights, init="random", seed=seeds[i], threads=1)

    threads = [threading.Thread(target=job, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(np.array_equal(r, e) for r, e in zip(results, expected))


# Exceptions from callbacks

class Stop(Exception):
    pass


def test_callback_exception_stops_the_run_and_propagates(content, style, weights):
    calls, raised = [], Stop("at iteration 2")

    def progress(p):
        calls.append(p.iteration)
        if p.iteration == 2:
            raise raised

    with pytest.raises(Stop) as info:
        run(content, style, weights, iterations=6, optimizer="adam", progress=progress)
    assert info.value is raised
    assert calls == [1, 2]


def test_log_exception_propagates(content, style, weights):
    def log(line):
        raise Stop(line)

    with pytest.raises(Stop):
        run(content, style, weights, log=log)


def test_ctrl_c_stops_the_run(content, style, weights):
    calls = []

    def progress(p):
        calls.append(p.iteration)
        if p.iteration == 2:
            _thread.interrupt_main()  # what Ctrl-C does: a flag, seen at the iteration's end

    with pytest.raises(KeyboardInterrupt):
        run(content, style, weights, iterations=6, optimizer="adam", progress=progress)
    assert calls == [1, 2]


# Errors

def test_error_classes_are_the_builtin_ones_too():
    assert issubclass(nst.Error, RuntimeError)
    for cls, builtin in [(nst.InvalidArgument, ValueError), (nst.FileError, OSError),
                         (nst.OutOfMemory, MemoryError), (nst.DeviceError, RuntimeError)]:
        assert issubclass(cls, nst.Error) and issubclass(cls, builtin)


def test_wrong_dtype_names_the_argument_and_dtype(content, style, weights):
    with pytest.raises(ValueError, match=r"content: .*float32 array of shape \(32, 48, 3\)") as info:
        run(content.astype(np.float32), style, weights)
    assert isinstance(info.value, nst.InvalidArgument)


def test_wrong_shape_names_the_argument_and_shape(content, style, weights):
    with pytest.raises(nst.InvalidArgument, match=r"styles\[1\]: .*uint8 array of shape \(40, 40\)"):
        nst.stylize(content, [style, style[:, :, 0]], weights=weights, image_size=32, iterations=1)
    with pytest.raises(nst.InvalidArgument, match=r"content: .*shape \(32, 48, 4\)"):
        run(np.zeros((32, 48, 4), np.uint8), style, weights)


def test_non_arrays_are_type_errors(content, style, weights):
    with pytest.raises(TypeError, match="content expects a numpy array"):
        run([[1, 2, 3]], style, weights)
    with pytest.raises(TypeError, match="styles expects a list of arrays"):
        nst.stylize(content, style, weights=weights)


def test_unknown_keyword_is_named_with_the_valid_ones(content, style, weights):
    with pytest.raises(TypeError, match=r"'imagesize'.* image_size, iterations"):
        run(content, style, weights, imagesize=64)


def test_option_of_wrong_type_is_named(content, style, weights):
    with pytest.raises(TypeError, match="option 'threads' expects an int, got str '2'"):
        run(content, style, weights, threads="2")
    with pytest.raises(TypeError, match="option 'original_colors' expects a bool"):
        run(content, style, weights, original_colors=1)


def test_bad_option_values_are_value_errors(content, style, weights):
    cases = [({"optimizer": "sgd"}, "option 'optimizer' must be 'lbfgs' or 'adam', got 'sgd'"),
             ({"iterations": -1}, "iterations must be >= 0"),
             ({"style_layers": ["block9_conv1"]}, "style layers: .*block9_conv1"),
             ({"color_transfer": "sepia"}, "option 'color_transfer': .*sepia"),
             ({"seed": -1}, "option 'seed' must be an int from 0"),
             ({"model": "vgg19"}, "option 'model' is 'vgg19' but the weights are vgg16"),
             ({"init_image": np.zeros((8, 8, 3), np.uint8)}, "option 'init_image' needs init='image'")]
    for options, message in cases:
        with pytest.raises(nst.InvalidArgument, match=message):
            run(content, style, weights, **options)


def test_cuda_without_a_device_is_a_device_error(content, style, weights):
    if nst.cuda_available():
        pytest.skip("this machine has a CUDA device")
    with pytest.raises(nst.DeviceError, match="device 'cuda' requested"):
        run(content, style, weights, device="cuda")


def test_loss_overflow_is_an_nst_error(content, style, weights):
    with pytest.raises(nst.Error, match="loss is not finite") as info:
        run(content, style, weights, style_weight=3e38)  # finite, but the loss overflows float32
    assert type(info.value) is nst.Error


def test_missing_weights_file_is_a_file_error(tmp_path):
    missing = tmp_path / "none.h5"
    with pytest.raises(OSError, match="none.h5") as info:
        nst.load_weights(missing)
    assert isinstance(info.value, nst.FileError)
    with pytest.raises(ValueError, match="model: .*'vgg11'"):
        nst.random_weights(0, model="vgg11")


def test_image_file_errors(tmp_path, content):
    with pytest.raises(nst.FileError, match="missing.png"):
        nst.load_image(tmp_path / "missing.png")
    with pytest.raises(nst.InvalidArgument):
        nst.save_image(tmp_path / "image.tiff", content)
    assert not (tmp_path / "image.tiff").exists()


# The options table

ONE_VALUE_PER_OPTION = {
    "image_size": 32, "iterations": 1, "scales": [16], "scale_iterations": [1, 1],
    "content_weight": 1.0, "style_weight": np.float32(10), "tv_weight": 0, "optimizer": "adam",
    "learning_rate": 5.0, "beta1": 0.8, "beta2": 0.99, "eps": 1e-7, "lbfgs_history": 5,
    "lbfgs_initial_step": 0.5, "init": "image", "init_image": noise(16, 16, 3), "seed": 2**64 - 1,
    "model": "vgg16", "pooling": "avg", "content_layers": "relu4_2",
    "style_layers": ("block1_conv1", "conv2_1"), "content_layer_weights": [1],
    "style_layer_weights": [0.5, 2], "style_scale": 0.5, "color_transfer": "linear",
    "original_colors": True, "style_blend_weights": [1.0], "style_masks": [np.full((16, 24), 255, np.uint8)],
    "content_mask": np.full((16, 24, 3), 200, np.uint8), "tile": 16, "loss_every": 2, "device": "cpu",
    "threads": np.int64(1),
    "conv_algo": "custom", "cpu_conv_algo": "winograd", "gram_algo": "custom", "allow_tf32": False,
}


def valid_option_names(content, style, weights):
    with pytest.raises(TypeError) as info:
        run(content, style, weights, not_an_option=1)
    listed = str(info.value).split("the options are ")[1].split(" (and")[0]
    return listed.split(", ")


def test_style_masks_give_each_half_its_style(content, style, weights):
    left = np.zeros((32, 48), np.uint8)
    left[:, :24] = 255
    out = nst.stylize(content, [style, noise(40, 40, 3)], weights=weights, image_size=32, iterations=2,
                      threads=1, style_masks=[left, 255 - left], content_mask=left)
    assert out.shape == (21, 32, 3)


def test_bad_masks_are_value_errors_naming_them(content, style, weights):
    with pytest.raises(nst.InvalidArgument, match="1 style masks for 2 style images"):
        nst.stylize(content, [style, style], weights=weights, image_size=32, iterations=1,
                    style_masks=[np.full((32, 48), 255, np.uint8)])
    with pytest.raises(nst.InvalidArgument, match="style mask 1 is black everywhere"):
        run(content, style, weights, style_masks=[np.zeros((32, 48), np.uint8)])
    with pytest.raises(nst.InvalidArgument, match=r"option 'content_mask'.*float64"):
        run(content, style, weights, content_mask=np.ones((32, 48)))
    with pytest.raises(TypeError, match="style_masks"):
        run(content, style, weights, style_masks=np.full((32, 48), 255, np.uint8))


def test_every_option_is_settable_and_documented(content, style, weights):
    names = valid_option_names(content, style, weights)
    assert sorted(names) == sorted(ONE_VALUE_PER_OPTION)  # a new option needs a value here
    for name in names:
        assert f"    {name} (" in nst.stylize.__doc__
    out = nst.stylize(content, [style], weights=weights, **ONE_VALUE_PER_OPTION)
    assert max(out.shape[:2]) == 32


# Module and weights

def test_version_and_cuda_flag():
    assert nst.version() == nst.__version__ and nst.version().count(".") == 2
    assert isinstance(nst.cuda_available(), bool)


def test_weights_know_their_model_and_source():
    w = nst.random_weights(3, model="vgg19")
    assert w.model == "vgg19" and "3" in w.description
    assert "vgg19" in repr(w)


def test_readme_example_runs(tmp_path, content, style):
    # examples/python/stylize.py is what README.md's Python block quotes.
    spec = importlib.util.spec_from_file_location("example", REPO / "examples" / "python" / "stylize.py")
    example = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(example)
    nst.save_image(tmp_path / "content.png", content)
    nst.save_image(tmp_path / "style.png", style)
    example.stylize_file(tmp_path / "content.png", tmp_path / "style.png", tmp_path / "out.png", "random",
                         image_size=32, iterations=2)
    assert max(nst.load_image(tmp_path / "out.png").shape[:2]) == 32


def test_real_weights_short_run(content, style):
    path = next((p for p in REAL_WEIGHTS if p.exists()), None)
    if path is None:
        pytest.skip("no real weights: " + " or ".join(str(p) for p in REAL_WEIGHTS) + " is missing")
    real = nst.load_weights(path)
    assert real.model == "vgg16"
    seen = []
    out = nst.stylize(content, [style], weights=real, image_size=48, iterations=5, progress=seen.append)
    assert max(out.shape[:2]) == 48
    assert seen[-1].losses.total < seen[0].losses.total
