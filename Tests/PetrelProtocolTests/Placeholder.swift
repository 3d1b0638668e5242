import Testing
@testable import PetrelProtocol
