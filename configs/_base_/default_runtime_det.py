# declip_mm's runtime for MMDetection configs: mmdet's default runtime with the crash-safe
# checkpoint hook, logged losses averaged over processes, and the vocabulary-vs-dataset check.
# Named here (not swapped in by a tool), so mmdet's own tools/train.py and tools/test.py run
# exactly what declip_mm's do. docs/reliability.md explains each component.
_base_ = ['mmdet::_base_/default_runtime.py']
custom_imports = dict(imports=['declip_mm'], allow_failed_imports=False)
default_hooks = dict(checkpoint=dict(type='DeCLIPCheckpointHook'))
# A config that sets its own custom_hooks lists these two again.
custom_hooks = [dict(type='DeCLIPLossSyncHook'),
                dict(type='DeCLIPVocabularyCheckHook')]
