import CNGHTTP2
