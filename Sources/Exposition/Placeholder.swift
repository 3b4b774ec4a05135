public enum ExpositionPlaceholder {}
