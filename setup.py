"""Install declip_mm: ``pip install -e .`` (the compiled mmcv comes from tools/install.sh).

Packaging as OpenMMLab projects do it:

* one version string, ``declip_mm/version.py`` (read here without importing the package);
* ``install_requires``: ``requirements/runtime.txt``; the OpenMMLab packages are in
  ``requirements/mminstall.txt`` (the ``mim`` extra; ``mim install`` reads that file), because
  mmcv needs its compiled ops;
* ``configs/`` and ``tools/`` ship inside the package under ``declip_mm/.mim`` (copied into
  the build for a wheel or ``pip install .``, linked from the source tree for an editable
  install), where ``mim`` looks for a package's configs and tools.
"""
import os
import shutil
from pathlib import Path

from setuptools import find_packages, setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
MIM_DIRS = ('configs', 'tools')
"""Repository folders shipped under ``declip_mm/.mim`` (mim's layout)."""
MIM_SKIP = shutil.ignore_patterns('__pycache__', '*.pyc')


def read_requirements(name: str) -> list:
    """Return the requirement lines of ``requirements/<name>.txt`` (comments dropped)."""
    lines = (HERE / 'requirements' / f'{name}.txt').read_text().splitlines()
    return [ln.strip() for ln in lines if ln.strip() and not ln.lstrip().startswith('#')]


def read_version() -> str:
    """``__version__`` of ``declip_mm/version.py`` (the module imports nothing at top level)."""
    namespace: dict = {}
    exec((HERE / 'declip_mm' / 'version.py').read_text(), namespace)
    return namespace['__version__']


def place_mim_files(package_dir: Path, link: bool) -> list:
    """Put ``configs/`` and ``tools/`` under ``package_dir/.mim``; return the paths made.

    Args:
        package_dir: the ``declip_mm`` folder being built (or the source one when ``link``).
        link: make relative symbolic links to the repository folders instead of copies.
    """
    mim = package_dir / '.mim'
    mim.mkdir(parents=True, exist_ok=True)
    made = []
    for name in MIM_DIRS:
        src, dst = HERE / name, mim / name
        if not src.is_dir():
            continue
        if dst.is_symlink() or dst.is_file():
            dst.unlink()
        elif dst.is_dir():
            shutil.rmtree(dst)
        if link:
            dst.symlink_to(os.path.relpath(src, mim), target_is_directory=True)
        else:
            shutil.copytree(src, dst, ignore=MIM_SKIP)
        made.append(dst)
    return made


class BuildPyWithMim(build_py):
    """``build_py`` that also ships ``configs/`` and ``tools/`` under ``declip_mm/.mim``."""

    def run(self) -> None:
        super().run()
        if getattr(self, 'editable_mode', False):  # pip install -e: the source tree is used
            place_mim_files(HERE / 'declip_mm', link=True)
        else:
            place_mim_files(Path(self.build_lib) / 'declip_mm', link=False)


if __name__ == '__main__':
    setup(
        name='declip_mm',
        version=read_version(),
        description='DeCLIP (CVPR 2025) for MMDetection 3.x and MMSegmentation 1.x',
        long_description=(HERE / 'README.md').read_text() if (HERE / 'README.md').exists() else '',
        long_description_content_type='text/markdown',
        packages=find_packages(exclude=('tests', 'tests.*', 'configs', 'configs.*', 'tools',
                                        'tools.*')),
        include_package_data=True,
        package_data={'declip_mm': ['assets/**/*', '**/*.txt', '**/*.json']},
        cmdclass={'build_py': BuildPyWithMim},
        python_requires='>=3.9',
        install_requires=read_requirements('runtime'),
        extras_require={'mim': read_requirements('mminstall'),
                        'tests': read_requirements('tests'),
                        'all': read_requirements('mminstall') + read_requirements('runtime')
                        + read_requirements('tests')},
        license='Apache-2.0',
        zip_safe=False,
    )
