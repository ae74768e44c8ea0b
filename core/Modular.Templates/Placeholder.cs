namespace Modular.Templates; internal static class Placeholder { }
