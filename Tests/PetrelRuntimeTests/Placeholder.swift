import Testing
@testable import PetrelRuntime
