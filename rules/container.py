"""The zip container: can it be read, and is its layout what MMS expects?"""

from __future__ import annotations

from collections.abc import Iterator

from mar_lint.archive import MANIFEST, unsafe_path_reason
from mar_lint.findings import Fix, Problem, RenameMember
from mar_lint.model import ModelView
from mar_lint.registry import rule


@rule(
    "MAR001",
    "archive-unreadable",
    "error",
    "the file is not a readable zip archive (empty, truncated, LFS pointer, other format)",
    on_unreadable=True,
)
def archive_unreadable(view: ModelView) -> Iterator[Problem]:
    """MMS unzips the archive before anything else; when that fails the model never loads, and
    the server's message ("Failed to open model file") does not say why.

    Common causes: a Git LFS pointer committed instead of the archive (run `git lfs pull`), an
    interrupted download or copy (a truncated zip), a web page saved under the archive's name,
    or a `.tar.gz` renamed to `.model`.

    Fix: rebuild the archive with `mxnet-model-export`, or fetch the real file again.
    """
    if view.unreadable:
        yield Problem(view.unreadable, hint="rebuild the archive or fetch the real file again")


@rule(
    "MAR003",
    "unsafe-path",
    "error",
    "a member name or manifest reference escapes the model folder",
)
def unsafe_path(view: ModelView) -> Iterator[Problem]:
    """Member names and manifest references must stay inside the model folder. MMS 1.x
    unzips without checking (`ZipUtils.unzip`): a member named `../../etc/cron.d/x` or
    `/etc/x` is written outside the model store ("zip slip"). A backslash or a drive letter
    is a Windows path that breaks on Linux servers.

    Fix: rebuild the archive from the model folder itself, with relative names only, and
    name files in MANIFEST.json by their plain file names.
    """
    for member in view.members:
        reason = unsafe_path_reason(member.name)
        if reason:
            yield Problem(f"member name {member.name!r} {reason}", member=member.name)
    for reference in view.references.values():
        if isinstance(reference.value, str):
            reason = unsafe_path_reason(reference.value)
            if reason:
                yield Problem(
                    f"Model.{reference.key} {reference.value!r} {reason}",
                    member=view.root + MANIFEST,
                    location=reference.pointer,
                )


@rule(
    "MAR007",
    "nested-root",
    "warning",
    "every member sits under one top-level folder: a folder was zipped instead of its contents",
)
def nested_root(view: ModelView) -> Iterator[Problem]:
    """`mxnet-model-export` writes every member at the root of the archive. An archive made
    with `zip -r model.model mymodel/` puts them all under `mymodel/`: MMS 0.x flattens the
    names when it unpacks, MMS 1.x looks one folder down for the manifest, but other tools
    (and a manifest that names `mymodel/signature.json`) do not.

    Fix: zip the folder's contents (`cd mymodel && zip -r ../mymodel.model .`), or run
    `mar-lint repack`, which moves every member up to the root.
    """
    if not view.root:
        return
    renames = tuple(
        RenameMember(m.name, m.name[len(view.root) :])
        for m in view.members
        if m.name.startswith(view.root) and m.name != view.root
    )
    yield Problem(
        f"every member is inside the folder {view.root!r}: the folder was zipped instead of "
        "its contents",
        fix=Fix(f"move the {len(renames)} members of {view.root!r} to the archive root", renames),
    )
