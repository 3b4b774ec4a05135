import Logging

LoggingSystem.bootstrap { label in
    var h = StreamLogHandler.standardError(label: label)
    h.logLevel = .debug
    return h
}
BgpmeshLab.main()
