"""Dataset classes whose `num_classes`, `img_channels` and `ignore_index` are per config.

PaddleSeg 2.8.0's `SegBuilder` reads `NUM_CLASSES`, `IMG_CHANNELS` and `IGNORE_INDEX`
from the *class* of any dataset type other than `Dataset`. The plugin's wrapper datasets
and `MultiLabelDataset` cannot know them as class constants, and the tools build them
their own way. `guard_class_attributes` makes a metaclass under which reading one of them
from the class raises an error with the dataset's own advice, instead of PaddleSeg's bare
"must have `NUM_CLASSES` attr".
"""

SEGBUILDER_CLASS_ATTRIBUTES = ("NUM_CLASSES", "IMG_CHANNELS", "IGNORE_INDEX")


def guard_class_attributes(error_type, advice):
    """A metaclass whose SegBuilder class attributes raise `error_type(advice(cls, name))`.

    `error_type` should not be an `AttributeError`: PaddleSeg checks them with `hasattr`,
    which would swallow it.
    """

    def guarded(name):
        def read(cls):
            raise error_type(advice(cls, name))

        return property(read)

    return type("GuardedClassAttributes", (type,),
                {name: guarded(name) for name in SEGBUILDER_CLASS_ATTRIBUTES})
